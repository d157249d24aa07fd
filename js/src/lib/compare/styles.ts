// Styles of the Compare view, scoped under .dsv-cmp-root; JupyterLab's theme variables where it has them,
// so light and dark themes both read.

export const COMPARE_STYLES = `
.dsv-cmp-root { color: var(--jp-ui-font-color1, #222); max-width: 100%; min-width: 0; position: relative; }
.dsv-cmp-root .dsv-input, .dsv-cmp-root select { color: inherit; background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color1, #bbb); }
.dsv-cmp-root .dsv-status { background: var(--jp-layout-color2, #e8f5e9); }
.dsv-cmp-root .dsv-status.dsv-busy { background: rgba(255, 179, 0, 0.2); color: var(--jp-ui-font-color1, #222); }
.dsv-cmp-root .dsv-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-cmp-editors { display: flex; gap: 8px; }
.dsv-cmp-editors label { flex: 1; display: flex; flex-direction: column; font-size: 11px; color: var(--jp-ui-font-color1, #444); }
.dsv-cmp-section { display: flex; flex-direction: column; gap: 4px; }
.dsv-cmp-title { font-size: 11px; font-weight: 600; color: var(--jp-ui-font-color1, #444); text-transform: uppercase; letter-spacing: 0.04em; }
.dsv-cmp-columns { display: flex; overflow-x: auto; gap: 1px; max-width: 100%; padding-bottom: 4px; font: 12px/1.6 ui-monospace, monospace; }
.dsv-cmp-col { display: flex; flex-direction: column; align-items: stretch; min-width: 1.4em; }
.dsv-cmp-col .dsv-token { display: block; height: 20px; line-height: 20px; padding: 0 2px; white-space: pre; text-align: center; box-shadow: inset 0 0 0 0.5px var(--jp-border-color2, #ddd); }
.dsv-cmp-col .dsv-token.dsv-piece { width: auto; height: 20px; min-width: 6px; }
.dsv-cmp-col .dsv-token.dsv-cmp-missing { background: transparent; }
.dsv-cmp-col[data-differs="true"] .dsv-token { background: rgba(239, 108, 0, 0.22); box-shadow: inset 0 -2px 0 #ef6c00; }
.dsv-cmp-col.dsv-cmp-extra .dsv-token { font-style: italic; box-shadow: inset 0 0 0 1px var(--jp-border-color1, #bbb); background: repeating-linear-gradient(135deg, transparent 0 4px, var(--jp-layout-color2, #eee) 4px 6px); }
.dsv-cmp-col.dsv-selected .dsv-token { outline: 2px solid var(--jp-error-color1, #e53935); }
.dsv-cmp-cell { height: 16px; font-size: 11px; line-height: 16px; text-align: center; border-radius: 2px; margin-top: 1px; }
.dsv-cmp-rowname { font-size: 11px; color: var(--jp-ui-font-color1, #444); width: 4.6em; flex: none; display: flex; flex-direction: column; }
.dsv-cmp-rowname .dsv-cmp-token-row { height: 20px; line-height: 20px; }
.dsv-cmp-rowname .dsv-cmp-cell-row { height: 16px; line-height: 16px; margin-top: 1px; white-space: nowrap; }
.dsv-cmp-heatmaps { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.dsv-cmp-figure { margin: 0; display: grid; grid-template-columns: 64px 222px; grid-template-rows: auto auto 64px 222px auto; align-content: start; column-gap: 2px; font-size: 11px; }
.dsv-cmp-figure figcaption { grid-column: 2; grid-row: 1; font-weight: 600; }
.dsv-cmp-figure .dsv-cmp-key-title { grid-column: 2; grid-row: 2; }
.dsv-cmp-figure .dsv-cmp-query-title { grid-column: 1; grid-row: 3; align-self: end; text-align: right; padding-right: 4px; }
.dsv-cmp-figure .dsv-cmp-keys { grid-column: 2; grid-row: 3; }
.dsv-cmp-figure .dsv-cmp-queries { grid-column: 1; grid-row: 4; }
.dsv-cmp-figure canvas { grid-column: 2; grid-row: 4; }
.dsv-cmp-figure .dsv-cmp-legend-slot { grid-column: 1 / 3; grid-row: 5; justify-self: end; padding-top: 4px; }
.dsv-cmp-heatmaps canvas { width: 220px; height: 220px; image-rendering: pixelated; border: 1px solid var(--jp-border-color2, #ccc); cursor: crosshair; }
.dsv-cmp-axis-title { font-size: 11px; color: var(--jp-ui-font-color1, #444); font-style: italic; }
.dsv-cmp-keys { position: relative; height: 64px; margin-left: 1px; overflow: hidden; }
.dsv-cmp-queries { position: relative; margin-top: 1px; }
.dsv-cmp-axis-label { position: absolute; font: 11px/13px ui-monospace, monospace; color: var(--jp-ui-font-color1, #444); white-space: pre; overflow: hidden; text-overflow: ellipsis; unicode-bidi: isolate; }
.dsv-cmp-queries .dsv-cmp-axis-label, .dsv-cmp-lens-rows .dsv-cmp-axis-label { right: 4px; max-width: 60px; transform: translateY(-50%); text-align: right; }
.dsv-cmp-keys .dsv-cmp-axis-label { bottom: 2px; max-height: 60px; writing-mode: vertical-rl; text-orientation: sideways; transform: translateX(-50%) rotate(180deg); }
.dsv-cmp-legend { flex-wrap: wrap; font-size: 11px; color: var(--jp-ui-font-color1, #444); }
.dsv-cmp-legend .dsv-legend-bar { width: 180px; }
.dsv-cmp-legend .dsv-legend-ticks { gap: 8px; }
.dsv-cmp-legends { display: flex; gap: 16px; flex-wrap: wrap; }
.dsv-cmp-legends[hidden] { display: none; }
.dsv-cmp-lens-grid { display: grid; grid-template-columns: 64px auto; column-gap: 2px; justify-content: start; max-width: 100%; overflow-x: auto; }
.dsv-cmp-lens-rows { position: relative; }
.dsv-cmp-lens-grid .dsv-cmp-lens-cols { height: 64px; }
.dsv-cmp-lens-grid .dsv-cmp-axis-title { font-size: 11px; }
.dsv-cmp-swatch-item { display: inline-flex; gap: 4px; align-items: center; margin-right: 12px; }
.dsv-cmp-swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid var(--jp-border-color1, #888); }
.dsv-cmp-controls { display: flex; gap: 10px; align-items: center; font-size: 12px; }
.dsv-cmp-tooltip { position: fixed; pointer-events: none; background: rgba(20, 20, 20, 0.9); color: #fff; padding: 2px 6px; border-radius: 3px; white-space: pre; font-size: 12px; z-index: 10; }
.dsv-cmp-tooltip[hidden] { display: none; }
.dsv-cmp-predictions { max-height: 180px; overflow: auto; font: 12px/1.5 ui-monospace, monospace; border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-cmp-predictions div { white-space: pre; padding: 0 4px; }
.dsv-cmp-predictions div[data-changed="true"] { color: var(--jp-error-color1, #c62828); }
.dsv-cmp-lens { image-rendering: pixelated; border: 1px solid var(--jp-border-color2, #ccc); cursor: crosshair; }
.dsv-cmp-note { color: var(--jp-ui-font-color1, #444); font-size: 12px; }
.dsv-cmp-attr-row { display: flex; gap: 1px; font: 12px/1.6 ui-monospace, monospace; }
`;
