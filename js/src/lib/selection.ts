// Which layer and heads are selected after a click or a key press in the head grid. Pure functions.

export interface Selection {
  layer: number;
  heads: number[];
}

/** Click on (layer, head): select just it; shift-click in the same layer toggles it (one head stays). */
export function clickSelection(current: Selection, layer: number, head: number, shift: boolean): Selection {
  if (!shift || layer !== current.layer) return { layer, heads: [head] };
  const has = current.heads.includes(head);
  if (has && current.heads.length === 1) return current;
  const heads = has ? current.heads.filter((h) => h !== head) : [...current.heads, head];
  return { layer, heads: heads.sort((a, b) => a - b) };
}

/** All heads of `layer`: the mean of the layer. */
export function meanOfLayer(layer: number, numHeads: number): Selection {
  return { layer, heads: Array.from({ length: numHeads }, (_, h) => h) };
}

/** Heatmap caption, e.g. "layer 2 · head 1" or "layer 0 · mean of heads 0, 2". */
export function describeSelection(selection: Selection, numHeads: number): string {
  const { layer, heads } = selection;
  if (heads.length === 1) return `layer ${layer} · head ${heads[0]}`;
  if (heads.length === numHeads) return `layer ${layer} · mean of all ${numHeads} heads`;
  return `layer ${layer} · mean of heads ${heads.join(", ")}`;
}
