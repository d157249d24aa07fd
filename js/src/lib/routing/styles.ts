// Styles of the routing and prediction widgets, added after the shared STYLES (scoped under their roots).
// Colours come from JupyterLab's theme variables where it has them, so light and dark themes both read.

export const ROUTING_STYLES = `
.dsv-root.dsv-routing-root, .dsv-root.dsv-lens-root { color: var(--jp-ui-font-color1, #222); max-width: 100%; min-width: 0; }
.dsv-routing-body { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
.dsv-routing-maps { min-width: 0; max-width: 100%; }
.dsv-layer-picker { display: flex; gap: 4px; align-items: center; }
.dsv-layer-picker select { font: inherit; }
.dsv-hscroll { overflow-x: auto; max-width: 100%; }
.dsv-overview-scroll { overflow: auto; max-width: 100%; max-height: 400px; border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-overview-grid { display: grid; grid-template-columns: 40px max-content; column-gap: 4px; width: max-content; }
.dsv-overview-corner { position: sticky; left: 0; z-index: 2; background: var(--jp-layout-color0, #fff); font-size: 10px; color: var(--jp-ui-font-color1, #444); }
.dsv-overview-layers { position: sticky; left: 0; z-index: 1; background: var(--jp-layout-color0, #fff); font-size: 10px; color: var(--jp-ui-font-color1, #444); }
.dsv-overview-layers span { position: absolute; right: 2px; cursor: pointer; white-space: nowrap; }
.dsv-overview-layers span.dsv-on { color: var(--jp-ui-font-color0, #000); font-weight: 700; text-decoration: underline; text-decoration-color: var(--jp-error-color1, #e53935); text-decoration-thickness: 2px; }
.dsv-overview-canvas { display: block; cursor: pointer; }
.dsv-routing-map { display: flex; flex-direction: column; gap: 2px; }
.dsv-expert-bars { position: relative; border-bottom: 1px solid var(--jp-border-color1, #bbb); flex: none; }
.dsv-expert-bar { position: absolute; bottom: 0; height: 100%; cursor: pointer; }
.dsv-expert-bar:hover { background: var(--jp-layout-color2, #eceff1); }
.dsv-expert-bar.dsv-on { outline: 2px solid #e53935; }
.dsv-load { position: absolute; bottom: 0; width: 100%; background: #5c6bc0; }
.dsv-corpus-load { position: absolute; width: 100%; height: 2px; background: #ff7043; }
.dsv-group-labels { position: relative; height: 14px; font-size: 10px; color: var(--jp-ui-font-color1, #444); flex: none; }
.dsv-group-labels span { position: absolute; text-align: center; border-top: 2px solid #90caf9; overflow: hidden; }
.dsv-rt-scroll { overflow: auto; max-width: 100%; max-height: 560px; border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-rt-scroll[hidden], .dsv-rt-legend[hidden], .dsv-rt-col[hidden] { display: none; }
.dsv-rt-head, .dsv-rt-body { display: flex; gap: 8px; align-items: flex-start; width: max-content; background: var(--jp-layout-color0, #fff); }
.dsv-rt-head { position: sticky; top: 0; z-index: 3; }
.dsv-rt-col { display: flex; flex-direction: column; flex: none; }
.dsv-rt-corner { position: sticky; left: 0; z-index: 4; background: var(--jp-layout-color0, #fff); align-self: stretch; }
.dsv-rt-title { height: 16px; font-size: 11px; font-weight: 600; white-space: nowrap; color: var(--jp-ui-font-color1, #333); }
.dsv-rt-load-name { font-size: 10px; display: flex; align-items: flex-end; justify-content: flex-end; color: var(--jp-ui-font-color1, #444); }
.dsv-rt-corner .dsv-rt-title { text-align: right; }
.dsv-rt-axis { position: relative; height: 14px; font-size: 10px; line-height: 14px; color: var(--jp-ui-font-color1, #444); flex: none; }
.dsv-rt-axis span { position: absolute; top: 0; white-space: nowrap; }
[data-testid="expert-ticks"] span { transform: translateX(-50%); border-top: 3px solid var(--jp-border-color1, #999); line-height: 11px; }
[data-testid="group-ticks"] span { text-align: center; }
.dsv-rt-rows { position: sticky; left: 0; z-index: 2; flex: none; background: var(--jp-layout-color0, #fff); }
.dsv-rt-rows span { position: absolute; right: 4px; max-width: calc(100% - 4px); height: 14px; font: 11px/14px ui-monospace, monospace; white-space: pre;
  overflow: hidden; text-overflow: ellipsis; color: var(--jp-ui-font-color1, #333); unicode-bidi: isolate; }
.dsv-rt-rows span.dsv-on { font-weight: 700; color: var(--jp-ui-font-color0, #000); }
.dsv-rt-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; font-size: 11px; color: var(--jp-ui-font-color1, #444); margin: 2px 0; }
.dsv-rt-scale { display: inline-flex; gap: 6px; align-items: center; }
.dsv-rt-ramp { display: inline-flex; flex-direction: column; width: 120px; }
.dsv-rt-bar { display: block; height: 10px; border: 1px solid var(--jp-border-color1, #bbb); }
.dsv-rt-ticks { position: relative; height: 13px; font-size: 10px; line-height: 13px; }
.dsv-rt-tick { position: absolute; top: 0; white-space: nowrap; }
.dsv-rt-tick-0 { left: 0; }
.dsv-rt-tick-1 { left: 50%; transform: translateX(-50%); }
.dsv-rt-tick-2 { right: 0; }
.dsv-rt-swatch { display: inline-flex; gap: 4px; align-items: center; }
.dsv-rt-square { display: inline-block; width: 12px; height: 12px; border: 1px solid var(--jp-border-color1, #bbb); box-sizing: border-box; }
.dsv-rt-shared { font-style: italic; }
.dsv-routing-canvas { display: block; cursor: crosshair; flex: none; }
.dsv-token.dsv-routed { box-shadow: inset 0 -3px 0 #e53935; }
.dsv-token-experts { font-size: 12px; display: flex; flex-direction: column; gap: 2px; max-height: 260px; overflow: auto; }
.dsv-token-experts .dsv-row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.dsv-token-experts .dsv-row b { cursor: pointer; }
.dsv-chip { padding: 0 4px; border-radius: 3px; font: 11px ui-monospace, monospace; }
.dsv-note { color: var(--jp-ui-font-color1, #444); font-size: 12px; }
`;
