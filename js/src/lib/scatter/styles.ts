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
.dsv-live-point { position: absolute; width: 11px; height: 11px; margin: -7.5px 0 0 -7.5px; background: #ffd600; border: 2px solid #111; transform: rotate(45deg); pointer-events: none; z-index: 1; }
.dsv-scatter-legend { display: flex; flex-direction: column; gap: 2px; max-height: 460px; overflow: auto; min-width: 120px; max-width: 220px; }
.dsv-legend-entry { display: flex; gap: 6px; align-items: center; cursor: pointer; border-radius: 3px; padding: 0 3px; }
.dsv-legend-entry:hover { background: var(--jp-layout-color2, #f0f0f0); }
.dsv-legend-swatch { width: 10px; height: 10px; border-radius: 50%; flex: none; }
.dsv-legend-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dsv-legend-count { color: var(--jp-ui-font-color1, #555); font-size: 11px; margin-left: auto; }
`;
