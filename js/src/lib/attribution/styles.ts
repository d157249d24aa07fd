// Styles of the attribution view, added after the shared STYLES (scoped under .dsv-root).

export const ATTRIBUTION_STYLES = `
.dsv-attr-wrap { position: relative; }
.dsv-attr-grid { display: grid; row-gap: 4px; overflow-x: auto; max-height: 480px; padding-bottom: 4px; font: 13px/1.7 ui-monospace, monospace; }
.dsv-attr-row { display: grid; grid-column: 1 / -1; grid-template-columns: subgrid; align-items: center; }
.dsv-attr-label { position: sticky; left: 0; z-index: 1; background: var(--jp-layout-color0, #fff); padding-right: 8px; font: 12px/1.3 system-ui, sans-serif; display: flex; flex-direction: column; }
.dsv-attr-peak { color: var(--jp-ui-font-color1, #555); font-size: 11px; }
.dsv-attr-cell { white-space: pre; padding: 0 1px; min-width: 4px; min-height: 1.7em; cursor: default; box-shadow: inset 0 0 0 0.5px var(--jp-border-color2, #ddd); }
.dsv-attr-cell.dsv-special { font-size: 11px; font-style: italic; }
.dsv-attr-cell.dsv-attr-column { outline: 2px solid var(--jp-brand-color1, #1e88e5); outline-offset: -1px; }
.dsv-attr-legend { display: flex; gap: 8px; align-items: center; font-size: 12px; color: var(--jp-ui-font-color1, #444); }
.dsv-attr-legend .dsv-legend-bar { width: 180px; height: 10px; border: 1px solid var(--jp-border-color1, #ccc); }
.dsv-faithfulness { font-size: 12px; }
.dsv-faithfulness table { border-collapse: collapse; }
.dsv-faithfulness th, .dsv-faithfulness td { text-align: left; padding: 1px 10px 1px 0; }
.dsv-faithfulness { color: var(--jp-ui-font-color1, #222); }
.dsv-faithfulness th { font-weight: 600; color: var(--jp-ui-font-color1, #444); }
.dsv-note { color: var(--jp-ui-font-color1, #444); }
.dsv-sampling { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; font-size: 12px; }
.dsv-target { display: flex; gap: 8px; align-items: center; color: var(--jp-ui-font-color1, #222); }
.dsv-target-label { display: flex; gap: 4px; align-items: center; }
.dsv-target select { max-width: 420px; }
.dsv-continuation { width: 16em; font: 12px ui-monospace, monospace; }
.dsv-progress-wrap[hidden] { display: none; }
.dsv-progress-wrap { display: inline-flex; gap: 6px; align-items: center; color: var(--jp-ui-font-color1, #222); }
.dsv-progress { width: 140px; height: 8px; border: 1px solid var(--jp-border-color1, #bbb); background: var(--jp-layout-color2, #eee); }
.dsv-progress-fill { height: 100%; width: 0; background: var(--jp-brand-color1, #1976d2); transition: width 0.2s linear; }
.dsv-key { max-width: 960px; margin-top: 2px; }
.dsv-root button:focus-visible, .dsv-root select:focus-visible, .dsv-root input:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
`;
