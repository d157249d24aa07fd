// Styles of the SweepView, added after the shared STYLES (scoped under .dsv-root); JupyterLab's
// theme variables where it has them, so light and dark themes both read.

export const SWEEP_STYLES = `
.dsv-root.dsv-sweep { color: var(--jp-ui-font-color1, #222); max-width: 100%; min-width: 0; }
.dsv-root.dsv-sweep .dsv-status { background: var(--jp-layout-color2, #e8f5e9); align-self: flex-start; }
.dsv-root.dsv-sweep .dsv-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-sweep-scroll { overflow: auto; max-width: 100%; max-height: 560px; border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-sweep-grid { display: grid; grid-template-columns: auto auto; position: relative; width: max-content; }
.dsv-sweep-corner { position: sticky; left: 0; background: var(--jp-layout-color0, #fff); z-index: 2; font-size: 10px; color: var(--jp-ui-font-color1, #444); padding: 2px; }
.dsv-sweep-columns { position: relative; overflow: hidden; font-size: 10px; color: var(--jp-ui-font-color1, #444); }
.dsv-sweep-column { position: absolute; bottom: 2px; writing-mode: vertical-rl; transform: rotate(180deg); white-space: pre; overflow: hidden; max-height: 76px; text-align: left; unicode-bidi: isolate; font-family: ui-monospace, monospace; }
.dsv-sweep-rows { position: sticky; left: 0; background: var(--jp-layout-color0, #fff); z-index: 1; font-size: 10px; color: var(--jp-ui-font-color1, #444); }
.dsv-sweep-row { position: absolute; right: 4px; white-space: nowrap; }
.dsv-sweep-cells { position: relative; }
.dsv-sweep-canvas { display: block; cursor: pointer; image-rendering: pixelated; }
.dsv-sweep-mark { position: absolute; pointer-events: none; box-sizing: border-box; }
.dsv-sweep-mark[hidden] { display: none; }
.dsv-sweep-mark.dsv-on { outline: 2px solid var(--jp-brand-color1, #1e88e5); outline-offset: 0; }
.dsv-sweep-mark.dsv-hover { box-shadow: inset 0 0 0 1px var(--jp-ui-font-color1, #222); }
.dsv-sweep-legend { display: flex; gap: 6px; align-items: center; font-size: 11px; color: var(--jp-ui-font-color1, #444); }
.dsv-sweep-legend .dsv-legend-bar { width: 180px; height: 10px; border: 1px solid var(--jp-border-color1, #ccc); }
`;
