// The routing a RoutingView sends: for each MoE layer, each token's top-k routed experts and gate
// weights (decoded from uint16 ids + uint8 weights), and what the views derive from it. Pure functions.

import { decodeFloats, decodeIndices, type ArrayValue } from "../buffers";

/** `experts` and `weights` are `[layer row, token, rank]`, row `r` being MoE layer `layers[r]`. */
export interface RoutingData {
  layers: number[];
  n: number;
  k: number;
  experts: Uint32Array;
  weights: Float32Array;
  /** Largest weight the buffer can hold (the colour scale's top). */
  scale: number;
}

export interface Choice {
  expert: number;
  weight: number;
}

/** Decode RoutingView's `_experts` and `_weights` (row `r` of both: MoE layer `layers[r]`); null when
 * there is no routing (empty text, dense model). Throws when the shapes disagree. */
export function decodeRouting(experts: ArrayValue, weights: ArrayValue, layers: readonly number[]): RoutingData | null {
  const ids = decodeIndices(experts);
  const gates = decodeFloats(weights);
  if (!experts || !weights || !ids || !gates) return null;
  const [rows, n, k] = experts.shape;
  if (experts.shape.length !== 3 || rows !== layers.length || weights.shape.join() !== experts.shape.join()) {
    throw new RangeError(`routing shapes disagree: experts [${experts.shape}], weights [${weights.shape}], ${layers.length} MoE layers`);
  }
  return { layers: [...layers], n, k, experts: ids, weights: gates, scale: weights.scale };
}

/** The experts token `token` went to in layer row `row`, largest weight first. */
export function choicesOf(data: RoutingData, row: number, token: number): Choice[] {
  const base = (row * data.n + token) * data.k;
  return Array.from({ length: data.k }, (_, rank) => ({ expert: data.experts[base + rank], weight: data.weights[base + rank] }));
}

/** Per token, the weight with which it went to `expert` in layer row `row` (0: not routed there). */
export function expertWeights(data: RoutingData, row: number, expert: number): Float32Array {
  const out = new Float32Array(data.n);
  for (let token = 0; token < data.n; token++) {
    for (const choice of choicesOf(data, row, token)) if (choice.expert === expert) out[token] = choice.weight;
  }
  return out;
}

/** Share of the token-slots of layer row `row` each expert got (sums to 1), counting tokens `counted`. */
export function expertLoad(data: RoutingData, row: number, numExperts: number, counted: (token: number) => boolean): Float32Array {
  const load = new Float32Array(numExperts);
  let total = 0;
  for (let token = 0; token < data.n; token++) {
    if (!counted(token)) continue;
    for (const { expert } of choicesOf(data, row, token)) {
      load[expert] += 1;
      total += 1;
    }
  }
  return total > 0 ? load.map((count) => count / total) : load;
}

/** The routing groups (sorted, distinct) that `choices` fall in; [] when routing is ungrouped. */
export function groupsOf(choices: readonly Choice[], groupSize: number): number[] {
  if (groupSize <= 0) return [];
  return [...new Set(choices.map(({ expert }) => Math.floor(expert / groupSize)))].sort((a, b) => a - b);
}
