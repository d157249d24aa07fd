// The routing a RoutingView sends, and what the views derive from it. Pure functions.
// - the overview: `[moe layer, expert]` counts of the text's tokens routed to each expert;
// - the chosen layer: each token's top-k routed experts (uint16 ids) and gate weights (float16);
// - the selected token: its top-k in every MoE layer.

import { decodeFloats, decodeIndices, type ArrayValue } from "../buffers";

/** One MoE layer's routing: `experts` and `weights` are `[token, rank]`. */
export interface RoutingData {
  layer: number;
  n: number;
  k: number;
  experts: Uint32Array;
  weights: Float32Array;
  /** Largest weight (the colour scale's top; 1 when all are 0). */
  scale: number;
}

export interface Choice {
  expert: number;
  weight: number;
}

/** Counts of tokens routed to each expert, `[row, expert]`, row `r` being MoE layer `layers[r]`. */
export interface LoadData {
  layers: number[];
  numExperts: number;
  counts: Uint32Array;
  /** The largest count (1 when all are 0). */
  peak: number;
}

/** Decode RoutingView's `_experts` and `_weights` (`[token, k]` of MoE layer `layer`); null when there
 * is no routing (empty text, dense model). Throws when the shapes disagree. */
export function decodeRouting(experts: ArrayValue, weights: ArrayValue, layer: number): RoutingData | null {
  const ids = decodeIndices(experts);
  const gates = decodeFloats(weights);
  if (!experts || !weights || !ids || !gates) return null;
  const [n, k] = experts.shape;
  if (experts.shape.length !== 2 || weights.shape.join() !== experts.shape.join()) {
    throw new RangeError(`routing shapes disagree: experts [${experts.shape}], weights [${weights.shape}]`);
  }
  let scale = 0;
  for (const weight of gates) if (weight > scale) scale = weight;
  return { layer, n, k, experts: ids, weights: gates, scale: scale > 0 ? scale : 1 };
}

/** Decode RoutingView's `_load` (`[moe layer, expert]` counts); null without one. Throws when its rows
 * are not the MoE layers. */
export function decodeLoad(load: ArrayValue, layers: readonly number[]): LoadData | null {
  const counts = decodeIndices(load);
  if (!load || !counts) return null;
  const [rows, numExperts] = load.shape;
  if (load.shape.length !== 2 || rows !== layers.length) throw new RangeError(`load [${load.shape}] does not match ${layers.length} MoE layers`);
  let peak = 0;
  for (const count of counts) if (count > peak) peak = count;
  return { layers: [...layers], numExperts, counts, peak: peak > 0 ? peak : 1 };
}

/** Tokens routed to `expert` in load row `row`, and their share of that layer's token-slots. */
export function loadAt(load: LoadData, row: number, expert: number): { count: number; share: number } {
  const base = row * load.numExperts;
  let total = 0;
  for (let e = 0; e < load.numExperts; e++) total += load.counts[base + e];
  const count = load.counts[base + expert];
  return { count, share: total > 0 ? count / total : 0 };
}

/** Each expert's share of load row `row`'s token-slots (sums to 1; all 0 without tokens). */
export function loadShares(load: LoadData, row: number): Float32Array {
  const out = new Float32Array(load.numExperts);
  const base = row * load.numExperts;
  let total = 0;
  for (let e = 0; e < load.numExperts; e++) total += load.counts[base + e];
  if (total > 0) for (let e = 0; e < load.numExperts; e++) out[e] = load.counts[base + e] / total;
  return out;
}

/** The experts token `token` went to, largest weight first. */
export function choicesOf(data: RoutingData, token: number): Choice[] {
  const base = token * data.k;
  return Array.from({ length: data.k }, (_, rank) => ({ expert: data.experts[base + rank], weight: data.weights[base + rank] }));
}

/** Per token, the weight with which it went to `expert` (0: not routed there). */
export function expertWeights(data: RoutingData, expert: number): Float32Array {
  const out = new Float32Array(data.n);
  for (let i = 0; i < data.n * data.k; i++) if (data.experts[i] === expert) out[Math.floor(i / data.k)] = data.weights[i];
  return out;
}

/** The routing groups (sorted, distinct) that `choices` fall in; [] when routing is ungrouped. */
export function groupsOf(choices: readonly Choice[], groupSize: number): number[] {
  if (groupSize <= 0) return [];
  return [...new Set(choices.map(({ expert }) => Math.floor(expert / groupSize)))].sort((a, b) => a - b);
}

/** Gate weight token `token` gave each of `groups` routing groups (0: no expert of that group). */
export function groupWeights(data: RoutingData, token: number, groupSize: number, groups: number): Float32Array {
  const out = new Float32Array(groups);
  if (groupSize <= 0) return out;
  for (const { expert, weight } of choicesOf(data, token)) {
    const group = Math.floor(expert / groupSize);
    if (group < groups) out[group] += weight;
  }
  return out;
}

/** The selected token's experts in every MoE layer (`_token_experts`/`_token_weights`, `[moe layer, k]`). */
export function decodeTokenChoices(experts: ArrayValue, weights: ArrayValue): Choice[][] | null {
  const ids = decodeIndices(experts);
  const gates = decodeFloats(weights);
  if (!experts || !weights || !ids || !gates) return null;
  const [rows, k] = experts.shape;
  if (weights.shape.join() !== experts.shape.join()) throw new RangeError(`token routing shapes disagree: [${experts.shape}], [${weights.shape}]`);
  return Array.from({ length: rows }, (_, r) => Array.from({ length: k }, (_, rank) => ({ expert: ids[r * k + rank], weight: gates[r * k + rank] })));
}
