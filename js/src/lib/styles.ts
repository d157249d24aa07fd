// Styles of the attention widget, scoped under .dsv-root (inserted as a <style> element's text).

export const STYLES = `
.dsv-root { font: 13px/1.4 system-ui, sans-serif; color: #222; display: flex; flex-direction: column; gap: 8px; }
.dsv-root button { font: inherit; padding: 1px 6px; cursor: pointer; }
.dsv-top { display: flex; gap: 8px; align-items: flex-start; }
.dsv-top[hidden] { display: none; }
.dsv-input { flex: 1; min-height: 3.2em; font: 13px/1.4 ui-monospace, monospace; resize: vertical; }
.dsv-status { min-width: 7em; padding: 2px 6px; border-radius: 4px; background: #e8f5e9; white-space: pre-wrap; max-width: 40%; }
.dsv-status.dsv-busy { background: #fff8e1; }
.dsv-status.dsv-error { background: #ffebee; color: #b71c1c; }
.dsv-command-error { color: #b71c1c; font-size: 12px; white-space: pre-wrap; }
.dsv-command-error[hidden] { display: none; }
.dsv-empty { color: #777; font-style: italic; }
.dsv-body { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.dsv-grid { display: flex; flex-direction: column; gap: 2px; outline: none; max-height: 460px; overflow: auto; }
.dsv-grid:focus-visible { box-shadow: 0 0 0 2px #90caf9; }
.dsv-grid-row { display: flex; gap: 2px; align-items: center; }
.dsv-mean { width: 5.5em; font-size: 11px !important; }
.dsv-cell { width: 36px; height: 36px; image-rendering: pixelated; border: 2px solid transparent; cursor: pointer; background: #f4f4f4; }
.dsv-cell.dsv-on { border-color: #e53935; }
.dsv-heatmap-wrap { display: flex; flex-direction: column; gap: 4px; }
.dsv-canvas-wrap { position: relative; }
.dsv-caption { font-weight: 600; }
.dsv-heatmap { width: 420px; height: 420px; image-rendering: pixelated; border: 1px solid #ccc; cursor: crosshair; touch-action: none; }
.dsv-tooltip { position: absolute; pointer-events: none; background: rgba(20, 20, 20, 0.85); color: #fff; padding: 2px 6px; border-radius: 3px; white-space: pre; font-size: 12px; }
.dsv-heatmap-footer { display: flex; justify-content: space-between; align-items: center; gap: 8px; width: 422px; }
.dsv-legend { display: flex; gap: 6px; align-items: center; }
.dsv-legend-bar { width: 160px; height: 10px; }
.dsv-legend-ticks { display: flex; justify-content: space-between; font-size: 11px; color: #555; }
.dsv-tokens-wrap { flex: 1; min-width: 260px; display: flex; flex-direction: column; gap: 4px; }
.dsv-tokens { white-space: pre-wrap; word-break: break-word; font: 13px/1.9 ui-monospace, monospace; max-height: 420px; overflow: auto; border: 1px solid #eee; padding: 4px; }
.dsv-token { border-radius: 2px; cursor: pointer; box-shadow: inset 0 0 0 0.5px #ddd; unicode-bidi: isolate; }
.dsv-token.dsv-special { color: #888; font-size: 11px; }
.dsv-token.dsv-break::before { content: "⏎"; opacity: 0.6; }
.dsv-token.dsv-piece { display: inline-block; width: 4px; height: 1em; vertical-align: middle; background: #eee; }
.dsv-token.dsv-active { outline: 2px solid #1e88e5; }
.dsv-token.dsv-selected { outline: 2px solid #e53935; }
.dsv-options { display: flex; gap: 12px; font-size: 12px; }
`;
