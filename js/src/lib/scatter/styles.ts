// Styles of the embedding scatter, scoped under .dsv-scatter (inserted as a <style> element's text).

export const SCATTER_STYLES = `
.dsv-scatter { font: 13px/1.4 system-ui, sans-serif; color: var(--jp-ui-font-color1, #222); display: flex; flex-direction: column; gap: 6px; }
.dsv-scatter button, .dsv-scatter select { font: inherit; padding: 1px 8px; cursor: pointer; color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color2, #eee); border: 1px solid var(--jp-border-color1, #bbb); border-radius: 2px; }
.dsv-scatter-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.dsv-scatter-hint { color: var(--jp-ui-font-color1, #555); font-size: 12px; }
.dsv-scatter-status { padding: 1px 6px; border-radius: 4px; background: rgba(76, 175, 80, 0.16); color: var(--jp-ui-font-color1, #222); }
.dsv-scatter-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-scatter-caption { color: var(--jp-ui-font-color1, #555); font-size: 12px; }
.dsv-scatter-body { display: flex; gap: 10px; align-items: flex-start; }
.dsv-scatter-stage { position: relative; flex: 1; min-width: 260px; height: 460px; border: 1px solid var(--jp-border-color2, #ddd); background: var(--jp-layout-color0, #fff); overflow: hidden; }
.dsv-scatter-stage canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.dsv-scatter-stage canvas.dsv-scatter-input { cursor: grab; touch-action: none; }
.dsv-scatter-tooltip { position: absolute; pointer-events: none; max-width: 320px; background: rgba(20, 20, 20, 0.88); color: #fff; padding: 3px 7px; border-radius: 3px; white-space: pre-wrap; word-break: break-word; font-size: 12px; z-index: 2; }
.dsv-scatter-tooltip-label { display: block; color: #bbb; font-size: 11px; margin-top: 2px; }
.dsv-scatter [hidden] { display: none !important; }
.dsv-live-diamond { box-sizing: border-box; width: 13px; height: 13px; background: #ffd600; border: 2px solid var(--jp-ui-font-color1, #111); transform: rotate(45deg); }
.dsv-live-point { position: absolute; margin: -6.5px 0 0 -6.5px; pointer-events: none; z-index: 1; }
.dsv-legend-diamond { flex: none; margin: 0 1px; }
.dsv-scatter-legend { display: flex; flex-direction: column; gap: 2px; max-height: 460px; overflow: auto; min-width: 120px; max-width: 220px; }
.dsv-scatter .dsv-legend-entry { display: flex; gap: 6px; align-items: center; width: 100%; text-align: left; border: 1px solid transparent; background: transparent; border-radius: 3px; padding: 0 3px; }
.dsv-scatter .dsv-legend-entry:hover { background: var(--jp-layout-color2, #f0f0f0); }
.dsv-legend-live { display: flex; gap: 6px; align-items: center; padding: 2px 4px; margin-top: 4px; border-top: 1px solid var(--jp-border-color2, #ddd); }
.dsv-scatter button:focus-visible, .dsv-scatter-input:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.dsv-scatter-tools { display: inline-flex; align-items: center; }
.dsv-scatter-tools-label { margin-right: 4px; }
.dsv-scatter .dsv-scatter-tools button { border-radius: 0; }
.dsv-scatter .dsv-scatter-tools button + button { border-left: none; }
.dsv-scatter .dsv-scatter-tools button:first-of-type { border-radius: 3px 0 0 3px; }
.dsv-scatter .dsv-scatter-tools button:last-of-type { border-radius: 0 3px 3px 0; }
.dsv-scatter .dsv-scatter-tools button[aria-pressed="true"] { background: var(--jp-layout-color3, #bdbdbd); color: var(--jp-ui-font-color0, #000); font-weight: 600; box-shadow: inset 0 -2px 0 var(--jp-brand-color1, #1976d2); }
.dsv-selection-panel { border: 1px solid var(--jp-border-color2, #ddd); background: var(--jp-layout-color1, #fafafa); padding: 4px 8px; border-radius: 3px; }
.dsv-selection-head { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.dsv-selection-count { font-weight: 600; }
.dsv-selection-labels { display: flex; gap: 10px; flex-wrap: wrap; }
.dsv-selection-label { display: inline-flex; gap: 4px; align-items: center; }
.dsv-selection-label-count { font-variant-numeric: tabular-nums; }
.dsv-selection-head button { margin-left: auto; }
.dsv-selection-list { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-direction: column; gap: 1px; }
.dsv-scatter .dsv-selection-item { display: block; width: 100%; text-align: left; border: 1px solid transparent; background: transparent; padding: 0 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.dsv-scatter .dsv-selection-item:hover { background: var(--jp-layout-color2, #eee); border-color: var(--jp-border-color1, #bbb); }
.dsv-selection-more { color: var(--jp-ui-font-color1, #555); font-size: 12px; margin-top: 2px; }
.dsv-legend-swatch { width: 10px; height: 10px; border-radius: 50%; flex: none; }
.dsv-legend-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dsv-legend-count { color: var(--jp-ui-font-color1, #555); font-size: 11px; margin-left: auto; }
`;
