// Styles of the interventions list and of what is off (hatched in light and dark themes alike: a red
// hatch over the cell's own colours, legible on both).

export const HATCH = "repeating-linear-gradient(135deg, rgba(229, 57, 53, 0.85) 0 2px, transparent 2px 5px)";

export const INTERVENTION_STYLES = `
.dsv-root .dsv-interventions, .dsv-root .dsv-change { color: var(--jp-ui-font-color1, #222); }
.dsv-interventions { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; margin: 4px 0; font-size: 12px; }
.dsv-interventions-list { display: contents; }
.dsv-intervention { display: inline-flex; align-items: center; gap: 2px; padding: 0 2px 0 6px; border-radius: 10px;
  border: 1px solid #e53935; background: rgba(229, 57, 53, 0.12); color: inherit; }
.dsv-intervention button, .dsv-interventions-clear { border: none; background: none; color: inherit; cursor: pointer; font: inherit; padding: 0 4px; }
.dsv-interventions-clear { text-decoration: underline; }
.dsv-interventions .dsv-note { color: var(--jp-ui-font-color1, #444); font-style: italic; }
.dsv-mark.dsv-ablated { background: ${HATCH}; }
.dsv-expert-bar.dsv-ablated { background: ${HATCH}; }
.dsv-change { margin: 4px 0; font-variant-numeric: tabular-nums; }
.dsv-change-main { font-weight: 600; }
`;
