// Styles of the routing and prediction widgets, added after the shared STYLES (scoped under .dsv-root).

export const ROUTING_STYLES = `
.dsv-layer-picker { display: flex; gap: 4px; flex-wrap: wrap; align-items: center; }
.dsv-layer-picker button.dsv-on { background: #1e88e5; color: #fff; border-color: #1565c0; }
.dsv-routing-map { display: flex; flex-direction: column; gap: 2px; }
.dsv-expert-bars { position: relative; border-bottom: 1px solid #bbb; }
.dsv-expert-bar { position: absolute; bottom: 0; height: 100%; cursor: pointer; }
.dsv-expert-bar:hover { background: #eceff1; }
.dsv-expert-bar.dsv-on { outline: 2px solid #e53935; }
.dsv-load { position: absolute; bottom: 0; width: 100%; background: #5c6bc0; }
.dsv-corpus-load { position: absolute; width: 100%; height: 2px; background: #ff7043; }
.dsv-shared-label { position: absolute; left: 0; bottom: 0; height: 100%; writing-mode: vertical-rl; transform: rotate(180deg);
  font-size: 10px; background: #90a4ae; color: #fff; text-align: center; }
.dsv-group-labels { position: relative; height: 14px; font-size: 10px; color: #555; }
.dsv-group-labels span { position: absolute; text-align: center; border-top: 2px solid #90caf9; }
.dsv-routing-scroll { max-height: 440px; overflow: auto; }
.dsv-routing-canvas { display: block; cursor: crosshair; }
.dsv-token.dsv-routed { box-shadow: inset 0 -3px 0 #e53935; }
.dsv-token-experts { font-size: 12px; display: flex; flex-direction: column; gap: 2px; max-height: 260px; overflow: auto; }
.dsv-token-experts .dsv-row { display: flex; gap: 6px; align-items: center; }
.dsv-chip { padding: 0 4px; border-radius: 3px; font: 11px ui-monospace, monospace; }
.dsv-note { color: #666; font-size: 12px; }
.dsv-lens-wrap { position: relative; overflow: auto; max-width: 100%; }
.dsv-lens { border-collapse: collapse; font: 11px ui-monospace, monospace; }
.dsv-lens th { font-weight: normal; color: #555; padding: 1px 4px; white-space: pre; max-width: 6em; overflow: hidden; }
.dsv-lens td { padding: 1px 3px; max-width: 6em; overflow: hidden; white-space: pre; border: 1px solid #fff; cursor: default; }
.dsv-lens th.dsv-on { color: #e53935; font-weight: 600; }
.dsv-predictions { font: 12px ui-monospace, monospace; display: flex; flex-direction: column; gap: 2px; min-width: 220px; }
.dsv-prob-bar { display: inline-block; height: 8px; background: #5c6bc0; vertical-align: middle; margin-right: 4px; }
`;
