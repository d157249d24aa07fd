// Styles of the attention widget, scoped under .dsv-root (inserted as a <style> element's text).

export const STYLES = `
.dsv-root { font: 13px/1.4 system-ui, sans-serif; color: var(--jp-ui-font-color1, #222); display: flex; flex-direction: column; gap: 8px; }
.dsv-root button { font: inherit; padding: 1px 6px; cursor: pointer; color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color2, #eee); border: 1px solid var(--jp-border-color1, #bbb); border-radius: 2px; }
.dsv-root select, .dsv-root input, .dsv-root textarea { color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color1, #bbb); }
.dsv-top { display: flex; gap: 8px; align-items: flex-start; }
.dsv-top[hidden] { display: none; }
.dsv-input { flex: 1; min-height: 3.2em; font: 13px/1.4 ui-monospace, monospace; resize: vertical; }
.dsv-status { min-width: 7em; padding: 2px 6px; border-radius: 4px; background: rgba(76, 175, 80, 0.16); color: var(--jp-ui-font-color1, #222); white-space: pre-wrap; max-width: 40%; }
.dsv-status.dsv-busy { background: rgba(255, 179, 0, 0.2); color: var(--jp-ui-font-color1, #222); }
.dsv-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-command-error { color: var(--jp-error-color1, #b71c1c); font-size: 12px; white-space: pre-wrap; }
.dsv-command-error[hidden] { display: none; }
.dsv-empty { color: var(--jp-ui-font-color1, #555); font-style: italic; }
.dsv-body { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.dsv-grid { display: flex; flex-direction: column; gap: 2px; outline: none; max-height: 460px; overflow: auto; }
.dsv-root canvas[data-lm-suppress-shortcuts]:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.dsv-grid:focus-visible { box-shadow: 0 0 0 2px var(--jp-brand-color2, #90caf9); }
.dsv-grid-row { display: flex; gap: 2px; align-items: center; }
.dsv-mean { width: 5.5em; font-size: 11px !important; }
.dsv-cell { width: 36px; height: 36px; image-rendering: pixelated; border: 2px solid transparent; cursor: pointer; background: var(--jp-layout-color2, #f4f4f4); }
.dsv-cell.dsv-on { border-color: var(--jp-error-color1, #e53935); }
.dsv-heatmap-wrap { display: flex; flex-direction: column; gap: 4px; }
.dsv-canvas-wrap { position: relative; }
.dsv-caption { font-weight: 600; }
.dsv-heatmap { width: 420px; height: 420px; image-rendering: pixelated; border: 1px solid var(--jp-border-color1, #ccc); background: var(--jp-layout-color0, #fff); cursor: crosshair; touch-action: none; }
.dsv-tooltip { position: absolute; pointer-events: none; background: rgba(20, 20, 20, 0.85); color: #fff; padding: 2px 6px; border-radius: 3px; white-space: pre; font-size: 12px; }
.dsv-heatmap-footer { display: flex; justify-content: space-between; align-items: center; gap: 8px; width: 422px; }
.dsv-legend { display: flex; gap: 6px; align-items: center; }
.dsv-legend-bar { width: 160px; height: 10px; }
.dsv-legend-ticks { display: flex; justify-content: space-between; font-size: 11px; color: var(--jp-ui-font-color1, #444); }
.dsv-tokens-wrap { flex: 1; min-width: 260px; display: flex; flex-direction: column; gap: 4px; }
.dsv-tokens { white-space: pre-wrap; word-break: break-word; font: 13px/1.9 ui-monospace, monospace; max-height: 420px; overflow: auto; border: 1px solid var(--jp-border-color2, #eee); padding: 4px; }
.dsv-token { border-radius: 2px; cursor: pointer; box-shadow: inset 0 0 0 0.5px var(--jp-border-color2, #ddd); unicode-bidi: isolate; }
.dsv-token.dsv-special { color: var(--jp-ui-font-color1, #555); font-size: 11px; font-style: italic; }
.dsv-token.dsv-break::before { content: "⏎"; }
.dsv-token.dsv-piece { display: inline-block; width: 4px; height: 1em; vertical-align: middle; background: var(--jp-layout-color3, #e0e0e0); }
.dsv-token.dsv-active { outline: 2px solid var(--jp-brand-color1, #1e88e5); }
.dsv-token.dsv-selected { outline: 2px solid var(--jp-error-color1, #e53935); }
.dsv-options { display: flex; gap: 12px; font-size: 12px; }
`;
