// Styles of the head overview (scoped under .dsv-root; JupyterLab's theme variables, light fallbacks).

import { HEADER_HEIGHT, LABEL_WIDTH } from "./layout";

export const OVERVIEW_STYLES = `
.dsv-root.dsv-attention { color: var(--jp-ui-font-color1, #222); }
.dsv-attention .dsv-status { color: var(--jp-ui-font-color1, #222); }
.dsv-overview { position: relative; display: flex; flex-direction: column; gap: 4px; flex: 0 1 auto; min-width: min(250px, 100%); max-width: 100%; outline: none; }
.dsv-overview:focus-visible .dsv-overview-scroller { box-shadow: 0 0 0 2px var(--jp-brand-color2, #90caf9); }
.dsv-overview-controls { width: 0; min-width: 100%; display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; font-size: 12px; }
.dsv-overview-controls select, .dsv-overview-controls input { font: inherit; color: inherit; background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color1, #bbb); }
.dsv-jump { width: 4.5em; }
.dsv-overview-hint { flex-basis: 100%; font-size: 11px; color: var(--jp-ui-font-color1, #222); }
.dsv-overview-scroller { overflow: auto; max-width: 100%; max-height: 460px; background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color2, #e0e0e0); box-sizing: content-box; }
.dsv-overview-sizer { position: relative; }
.dsv-overview-view { position: sticky; left: 0; top: 0; overflow: hidden; cursor: pointer; }
.dsv-overview-canvas { display: block; }
.dsv-overview-hits { position: absolute; left: ${LABEL_WIDTH}px; top: ${HEADER_HEIGHT}px; overflow: hidden; pointer-events: none; }
.dsv-overview-marks { position: absolute; left: 0; top: 0; }
.dsv-mark { position: absolute; box-sizing: border-box; pointer-events: auto; }
.dsv-mark.dsv-on { border: 2px solid #e53935; }
.dsv-mark.dsv-focus { outline: 2px dashed var(--jp-brand-color1, #1e88e5); outline-offset: -1px; }
.dsv-mark.dsv-hover { box-shadow: inset 0 0 0 1px var(--jp-ui-font-color1, #222); }
.dsv-overview-tooltip { z-index: 2; }
.dsv-overview-tooltip[hidden] { display: none; }
`;
