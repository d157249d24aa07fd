// Styles of GenerationView, added after the shared STYLES (scoped under its root). Colours come from
// JupyterLab's theme variables where it has them, so light and dark themes both read.

export const GENERATION_STYLES = `
.dsv-gen-root { position: relative; color: var(--jp-ui-font-color1, #222); max-width: 100%; min-width: 0; }
.dsv-gen-root .dsv-input, .dsv-gen-root input, .dsv-gen-root select { color: inherit; background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color1, #bbb); }
.dsv-gen-root .dsv-status { background: var(--jp-layout-color2, #e8f5e9); }
.dsv-gen-root .dsv-status.dsv-busy { background: rgba(255, 179, 0, 0.2); color: var(--jp-ui-font-color1, #222); }
.dsv-gen-root .dsv-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-gen-top { display: flex; flex-direction: column; gap: 6px; }
.dsv-gen-settings { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; font-size: 12px; }
.dsv-gen-settings input[type="number"] { width: 5em; }
.dsv-gen-button { min-width: 6em; }
.dsv-gen-tokens { display: flex; flex-direction: column; gap: 6px; max-height: 420px; overflow: auto; }
.dsv-gen-block { border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 4px; padding: 4px 6px; }
.dsv-gen-block[hidden] { display: none; }
.dsv-gen-block-title { font-size: 11px; font-weight: 600; color: var(--jp-ui-font-color1, #444); text-transform: uppercase; letter-spacing: 0.04em; }
.dsv-gen-block-body { white-space: pre-wrap; word-break: break-word; font: 13px/1.9 ui-monospace, monospace; }
.dsv-gen-reasoning { background: var(--jp-layout-color2, #f7f7f7); }
.dsv-gen-prompt .dsv-token { font-style: italic; }
.dsv-gen-root .dsv-token { box-shadow: inset 0 0 0 0.5px var(--jp-border-color2, #ddd); }
.dsv-gen-timeline-wrap { overflow-x: auto; max-width: 100%; }
.dsv-gen-timeline { display: block; cursor: pointer; }
.dsv-gen-legend { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; font-size: 11px; color: var(--jp-ui-font-color1, #222); }
.dsv-gen-legend .dsv-legend-bar { border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-gen-legend .dsv-legend-ticks { color: var(--jp-ui-font-color1, #222); }
`;
