import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget, { type AttentionModel } from "../src/attention";
import { quantise } from "../src/lib/buffers";
import { meanOfHeads, type HeatmapElement } from "../src/lib/heatmap";
import type { HeadGridElement } from "../src/lib/overview/overview";
import { renderView, wireArray } from "./fake_model";
import { errorStatus, READY } from "../src/lib/status";

/** `_layer_heads` of `layer` for two tokens: head h gives the second query's weight `keyOne[h]` to key 1. */
function layerHeads(layer: number, keyOne: number[]): Partial<AttentionModel> {
  const bytes = keyOne.flatMap((weight) => [255, 0, Math.round((1 - weight) * 255), Math.round(weight * 255)]);
  return {
    _layer_heads: wireArray("uint8", [keyOne.length, 2, 2], new Uint8Array(bytes)),
    _layer_heads_layer: layer,
  };
}

function data(tokens: string[], seq: number, dataId: number): Partial<AttentionModel> {
  const n = tokens.length;
  const bytes = new Uint8Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 255 : 0));
  return {
    text: tokens.join(""),
    _tokens: tokens.map((t) => [t, 0] as [string, number]),
    _heatmap: wireArray("uint8", [n, n], bytes),
    _heatmap_block: 1,
    _colour_max: 0.5,
    _thumbnails: wireArray("uint8", [3, 4, 2, 2], new Uint8Array(3 * 4 * 4)),
    _layer_heads: null,
    _layer_heads_layer: -1,
    _data_id: dataId,
    _seq: seq,
    status: READY,
  };
}

/** Click head (layer, head) of the overview where it is drawn (`label`: its layer number instead). */
function clickHead(el: HTMLElement, layer: number, head: number, init: MouseEventInit = {}, label = false): void {
  const grid = el.querySelector<HeadGridElement>('[data-testid="head-grid"]');
  if (!grid) throw new Error("no head-grid");
  const { x, y } = grid.revealHead(layer, head);
  const target = grid.querySelector(".dsv-overview-view");
  target?.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: label ? 5 : x, clientY: y, ...init }));
}

function setup(extra: Partial<AttentionModel> = {}) {
  const invoke = vi.fn(async (name: string, msg: unknown) => [{ name, msg }, []] as [unknown, DataView[]]);
  const state = { layer: 0, heads: [0], selected_token: -1, num_layers: 3, num_heads: 4, ...data(["Hello", " world"], 0, 1), ...extra } as AttentionModel;
  return { ...renderView(widget, state, { invoke }), invoke };
}

/** Causal attention `[head, n, n]` with rows summing to 1, from a fixed pseudo-random sequence. */
function randomAttention(heads: number, n: number): Float64Array {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const out = new Float64Array(heads * n * n);
  for (let row = 0; row < heads * n; row++) {
    const q = row % n;
    const logits = Array.from({ length: q + 1 }, () => Math.exp(4 * random()));
    const total = logits.reduce((a, b) => a + b, 0);
    logits.forEach((value, k) => (out[row * n + k] = value / total));
  }
  return out;
}

/** Python's `encode_uint8`: bytes over [0, max]. */
function pythonQuantise(values: ArrayLike<number>): { bytes: Uint8Array; scale: number } {
  const scale = Math.max(...Array.from(values));
  return { bytes: Uint8Array.from(values, (value) => Math.round((value / scale) * 255)), scale };
}

describe("mean of heads drawn in the browser", () => {
  it("matches what Python sends for the same heads, within quantisation error", () => {
    const [numHeads, n, heads] = [6, 9, [1, 2, 4]];
    const exact = randomAttention(numHeads, n);
    const stack = { ...pythonQuantise(exact), shape: [numHeads, n, n] };
    const mean = Float64Array.from({ length: n * n }, (_, i) => heads.reduce((total, h) => total + exact[h * n * n + i], 0) / heads.length);
    const python = pythonQuantise(mean); // `_heatmap` of mean_of_heads
    const { data, matrix } = meanOfHeads(stack, heads);
    expect(data.n).toBe(n);
    expect(data.block).toBe(1);
    expect(data.overview.shape).toEqual([n, n]);
    expect(data.overview.scale).toBeCloseTo(python.scale, 2);
    const step = stack.scale / 255;
    data.overview.bytes.forEach((byte, i) => expect(Math.abs(byte - python.bytes[i])).toBeLessThanOrEqual(1));
    matrix.forEach((value, i) => expect(Math.abs(value - mean[i])).toBeLessThanOrEqual(step / 2 + 1e-6));
    const colourMax = Math.max(...Array.from(mean.subarray(n))); // Python's colour_max: rows 1..
    expect(Math.abs(data.colourMax - colourMax)).toBeLessThanOrEqual(step / 2 + 1e-6);
    expect(data.colourMax).toBeLessThan(1);
  });

  it("quantises as Python's encode_uint8 does", () => {
    expect(quantise(Float32Array.of(0.25, 0.5, 0.125), [3])).toEqual({ bytes: Uint8Array.of(128, 255, 64), shape: [3], scale: 0.5 });
    expect(quantise(new Float32Array(2), [2])).toEqual({ bytes: new Uint8Array(2), shape: [2], scale: 1 }); // all zero: scale 1
  });
});

describe("attention widget", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("draws tokens, grid and heatmap from the model", () => {
    const { q } = setup();
    expect(q("token-1")?.textContent).toBe(" world");
    expect(q("head-grid")?.dataset.ready).toBe("true");
    expect(q("head-0-0")?.classList.contains("dsv-on")).toBe(true); // the selected head is marked
    expect(q("attention-heatmap")?.dataset.version).toBe("1");
    expect(q("attention-view")?.dataset.ready).toBe("true");
    expect(q("status")?.textContent).toBe("ready");
    expect(q("empty-state")?.hidden).toBe(true);
    expect(q("colour-legend")?.textContent).toBe("weight00.25≥ 0.5");
  });

  it("labels both axes with the tokens (full text as the title), titles them and shows the zoom level", () => {
    const { q } = setup();
    expect(q("query-axis-title")?.textContent).toMatch(/^query/);
    expect(q("key-axis-title")?.textContent).toMatch(/^key/);
    expect(q("query-label-1")?.textContent).toBe("␣world"); // tokenLabel: a leading space made visible
    expect(q("key-label-0")?.textContent).toBe("Hello");
    expect(q("key-label-1")?.getAttribute("title")).toBe("key 1: ␣world");
    expect(q("zoom-level")?.textContent).toBe("×1");
    expect(q("head-grid-hint")?.textContent).toContain("shift-click");
    expect(q("direction-toggle")?.closest("label")?.getAttribute("title")).toContain("attend to it");
  });

  it("zooms from the keyboard and the buttons about the centre, updating the zoom level and labels", () => {
    const tokens = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const { q } = setup(data(tokens, 0, 1));
    const canvas = q("attention-heatmap") as HeatmapElement;
    expect(canvas.getAttribute("tabindex")).toBe("0");
    expect(q("query-labels")?.dataset.step).toBe("2"); // 40 rows in 420 px: every 2nd labelled
    expect(q("query-label-4")?.textContent).toBe("4·t4"); // thinned labels say which token they are
    expect(q("query-label-3")).toBeNull();
    (q("zoom-in") as HTMLButtonElement).click();
    expect(q("zoom-level")?.textContent).toBe("×1.5");
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "+", bubbles: true }));
    expect(canvas.zoomLevel()).toBeCloseTo(2.25);
    expect(q("query-labels")?.dataset.step).toBe("1");
    expect(q("query-label-0")).toBeNull(); // zoomed about the centre: the first rows are out of view
    expect(q("query-label-20")?.textContent).toBe("t20");
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "0", bubbles: true }));
    expect(q("zoom-level")?.textContent).toBe("×1");
  });

  it("selects heads by click (shift adds) and the mean of a layer", () => {
    const { model, q, el } = setup();
    clickHead(el, 2, 1);
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 2, heads: [1] });
    clickHead(el, 2, 3, { shiftKey: true });
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 2, heads: [1, 3] });
    clickHead(el, 0, 0, {}, true); // its layer number: the mean of the layer
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 0, heads: [0, 1, 2, 3] });
    expect(q("head-0-2")?.classList.contains("dsv-on")).toBe(true);
  });

  it("sends a debounced edit with a sequence number and shows the answer", async () => {
    const { model, invoke, q } = setup();
    const input = q("text-input") as HTMLTextAreaElement;
    input.value = "Hi";
    input.dispatchEvent(new Event("input"));
    input.value = "Hi there";
    input.dispatchEvent(new Event("input"));
    expect(q("status")?.textContent).toBe("computing");
    await vi.advanceTimersByTimeAsync(400);
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0].slice(0, 2)).toEqual(["_edit", { text: "Hi there", seq: 1 }]);
    expect(q("status")?.textContent).toBe("computing");
    model.update(data(["Hi", " there"], 1, 2));
    expect(q("token-1")?.textContent).toBe(" there");
    expect(q("attention-heatmap")?.dataset.version).toBe("2");
    expect(q("status")?.textContent).toBe("ready");
  });

  it("drops answers older than the newest shown and keeps the text being typed", async () => {
    const { model, q, invoke } = setup();
    model.update(data(["new", "est"], 5, 7));
    expect(q("attention-heatmap")?.dataset.version).toBe("2");
    model.update(data(["old"], 4, 8));
    expect(q("token-0")?.textContent).toBe("new");
    expect(q("attention-heatmap")?.dataset.version).toBe("2");

    const input = q("text-input") as HTMLTextAreaElement;
    input.value = "typing on";
    input.dispatchEvent(new Event("input"));
    await vi.advanceTimersByTimeAsync(400); // sends seq 6
    input.value = "typing onwards";
    input.dispatchEvent(new Event("input"));
    await vi.advanceTimersByTimeAsync(400); // sends seq 7
    expect(invoke.mock.calls.map((call) => call[1])).toEqual([
      { text: "typing on", seq: 6 },
      { text: "typing onwards", seq: 7 },
    ]);
    model.update(data(["typing", " on"], 6, 9)); // answer to 6 arrives while 7 is out
    expect(q("token-1")?.textContent).toBe(" on");
    expect(input.value).toBe("typing onwards");
    expect(q("status")?.textContent).toBe("computing");
  });

  it("shows an error status and an empty state", () => {
    const { model, q } = setup();
    model.update({ status: errorStatus("the text is 5000 tokens long"), _seq: 0 });
    expect(q("status")?.textContent).toBe("error: the text is 5000 tokens long");
    expect(q("token-0")?.textContent).toBe("Hello");
    model.update({ ...data([], 0, 3), _heatmap: null, _thumbnails: null });
    expect(q("empty-state")?.hidden).toBe(false);
    expect(q("token-0")).toBeNull();
  });

  it("draws a head switch within the layer from _layer_heads, without the kernel", () => {
    const { model, q, invoke, el } = setup(layerHeads(0, [0.2, 0.4, 0.6, 0.8]));
    expect(q("colour-legend")?.textContent).toBe("weight00.4≥ 0.8"); // head 0: the second query gives key 0 0.8
    clickHead(el, 0, 2);
    expect(q("attention-heatmap")?.dataset.version).toBe("2");
    expect(q("colour-legend")?.textContent).toBe("weight00.3≥ 0.6");
    expect(q("heatmap-caption")?.textContent).toBe("layer 0 · head 2");
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 0, heads: [2] });
    clickHead(el, 0, 1, { shiftKey: true });
    expect(q("colour-legend")?.textContent).toBe("weight00.25≥ 0.5"); // heads 1, 2: [0.5, 0.5]
    model.update({ heads: [1, 2] }); // Python's echo of what is drawn: no redraw
    expect(q("attention-heatmap")?.dataset.version).toBe("3");
    model.update({ heads: [0, 1] }); // set in Python: drawn here too
    expect(q("attention-heatmap")?.dataset.version).toBe("4");
    expect(q("colour-legend")?.textContent).toBe("weight00.35≥ 0.7");
    expect(q("heatmap-caption")?.textContent).toBe("layer 0 · mean of heads 0, 1");
    expect(invoke).not.toHaveBeenCalled();
  });

  it("waits for the kernel on a layer switch, or when no _layer_heads of the layer came", () => {
    const { model, q, el } = setup(layerHeads(0, [0.2, 0.4, 0.6, 0.8]));
    clickHead(el, 1, 2);
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 1, heads: [2] });
    expect(q("attention-heatmap")?.dataset.version).toBe("1");
    model.update({ ...data(["Hello", " world"], 0, 2), ...layerHeads(0, [0.1, 0.1, 0.1, 0.1]) }); // still layer 0's
    expect(q("attention-heatmap")?.dataset.version).toBe("2");
    expect(q("colour-legend")?.textContent).toBe("weight00.25≥ 0.5"); // the `_heatmap` sent (colour_max 0.5)
    model.update({ ...data(["Hello", " world"], 0, 3), _layer_heads: null });
    clickHead(el, 1, 3);
    model.update({ heads: [0, 1] });
    expect(q("attention-heatmap")?.dataset.version).toBe("3");
    expect(q("heatmap-caption")?.textContent).toBe("layer 1 · mean of heads 0, 1");
  });

  it("draws from the _layer_heads of the data shown, not of data dropped as stale", () => {
    const { model, q, el } = setup({ ...data(["Hello", " world"], 5, 1), ...layerHeads(0, [0.2, 0.4, 0.6, 0.8]) });
    model.update({ ...data(["old", " text"], 4, 2), ...layerHeads(0, [0.5, 0.5, 0.5, 0.5]) });
    expect(q("token-0")?.textContent).toBe("Hello");
    clickHead(el, 0, 2);
    expect(q("colour-legend")?.textContent).toBe("weight00.3≥ 0.6");
  });

  it("removes its listeners on cleanup", () => {
    const { model, cleanup, el } = setup();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
