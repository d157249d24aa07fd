// The routing a RoutingView sends: for each MoE layer, each token's top-k routed experts and gate
// weights (decoded from uint16 ids + uint8 weights), and what the views derive from it. Pure functions.

import { decodeArray, decodeIndices, type ArrayMeta, type IndexMeta } from "../buffers";

/** `_routing_meta` of RoutingView. */
export interface RoutingMeta {
  layers: number[];
  experts: IndexMeta;
  weights: ArrayMeta;
}

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

/** Decode both buffers; null when there is no routing (empty text, dense model). */
export function decodeRouting(experts: DataView | null, weights: DataView | null, meta: Partial<RoutingMeta>): RoutingData | null {
  if (!experts || !weights || !meta.experts || !meta.weights || !meta.layers || experts.byteLength === 0) return null;
  const [rows, n, k] = meta.experts.shape;
  if (rows !== meta.layers.length || meta.weights.shape.join() !== meta.experts.shape.join()) {
    throw new RangeError(`routing shapes disagree: experts [${meta.experts.shape}], weights [${meta.weights.shape}]`);
  }
  return {
    layers: [...meta.layers],
    n,
    k,
    experts: decodeIndices(experts, meta.experts),
    weights: decodeArray(weights, meta.weights),
    scale: meta.weights.scale,
  };
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
