// Styles of the AttentionView's heatmap (axes, zoom, tooltip), its options and the theme: colours and
// text from JupyterLab's theme variables (light fallbacks), scoped under .dsv-attention and added after
// the shared STYLES.

const GUTTER = 110; // query axis title (18 px) + query labels (92 px)

export const ATTENTION_STYLES = `
.dsv-attention { background: transparent; }
.dsv-attention button { color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color2, #eee); border: 1px solid var(--jp-border-color1, #bbb); border-radius: 2px; }
.dsv-attention button:hover { background: var(--jp-layout-color3, #ddd); }
.dsv-attention button:focus-visible, .dsv-attention input:focus-visible, .dsv-attention select:focus-visible, .dsv-attention .dsv-heatmap:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.dsv-attention .dsv-empty { color: var(--jp-ui-font-color1, #222); }
.dsv-attention .dsv-tokens { border-color: var(--jp-border-color2, #e0e0e0); }
.dsv-attention .dsv-token { box-shadow: inset 0 0 0 0.5px var(--jp-border-color2, #ddd); }
.dsv-attention .dsv-token.dsv-special { color: var(--jp-ui-font-color1, #222); font-style: italic; }
.dsv-attention .dsv-token.dsv-piece { background: var(--jp-layout-color3, #e0e0e0); }
.dsv-attention .dsv-legend-ticks, .dsv-attention .dsv-legend-title { color: var(--jp-ui-font-color1, #222); }
.dsv-attention .dsv-options label { display: inline-flex; gap: 4px; align-items: center; }
.dsv-heatmap-box { display: flex; flex-direction: column; gap: 4px; }
.dsv-heatmap-grid { display: grid; grid-template-columns: 18px 92px 422px; grid-template-rows: 422px 76px auto; }
.dsv-attention .dsv-heatmap { display: block; border: 1px solid var(--jp-border-color1, #bbb); background: var(--jp-layout-color0, #fff); }
.dsv-canvas-wrap { grid-column: 3; grid-row: 1; position: relative; }
.dsv-axis-title { font-size: 11px; font-weight: 600; color: var(--jp-ui-font-color1, #222); white-space: nowrap; }
.dsv-axis-title-query { grid-column: 1; grid-row: 1; writing-mode: vertical-rl; transform: rotate(180deg); text-align: center; }
.dsv-axis-title-key { grid-column: 3; grid-row: 3; text-align: center; }
.dsv-axis-labels { position: relative; overflow: hidden; font: 11px/13px system-ui, sans-serif; color: var(--jp-ui-font-color1, #222); }
.dsv-query-labels { grid-column: 2; grid-row: 1; top: 1px; }
.dsv-key-labels { grid-column: 3; grid-row: 2; left: 1px; }
.dsv-axis-label { position: absolute; white-space: pre; overflow: hidden; text-overflow: ellipsis; unicode-bidi: isolate; cursor: default; }
.dsv-query-labels .dsv-axis-label { right: 4px; max-width: 86px; transform: translateY(-50%); text-align: right; }
.dsv-key-labels .dsv-axis-label { top: 3px; max-height: 70px; writing-mode: vertical-rl; transform: translateX(-50%); }
.dsv-axis-label.dsv-axis-on { font-weight: 700; text-decoration: underline; }
.dsv-attention .dsv-heatmap-footer { margin-left: ${GUTTER}px; width: 422px; flex-wrap: wrap; }
.dsv-zoom { display: flex; gap: 4px; align-items: center; }
.dsv-zoom-level { min-width: 3.5em; text-align: center; font-size: 12px; font-variant-numeric: tabular-nums; }
.dsv-heatmap-tooltip { z-index: 3; max-width: 400px; white-space: pre-wrap; overflow-wrap: anywhere; }
.dsv-heatmap-tooltip[hidden] { display: none; }
.dsv-lines { color: var(--jp-ui-font-color1, #222); max-width: 100%; }
.dsv-lines[hidden] { display: none; }
`;
