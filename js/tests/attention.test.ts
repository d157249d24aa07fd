import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget, { type AttentionModel } from "../src/attention";
import { renderView } from "./fake_model";

function data(tokens: string[], seq: number, dataId: number): Partial<AttentionModel> {
  const n = tokens.length;
  const bytes = new Uint8Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 255 : 0));
  return {
    text: tokens.join(""),
    _tokens: tokens.map((t) => [t, 0] as [string, number]),
    _heatmap: new DataView(bytes.buffer),
    _heatmap_meta: { dtype: "uint8", shape: [n, n], scale: 1, block: 1, n, colour_max: 0.5 },
    _thumbnails: new DataView(new Uint8Array(3 * 4 * 4).buffer),
    _thumbnails_meta: { dtype: "uint8", shape: [3, 4, 2, 2], scale: 1 },
    _data_id: dataId,
    _seq: seq,
    status: "ready",
  };
}

function setup() {
  const invoke = vi.fn(async (name: string, msg: unknown) => [{ name, msg }, []] as [unknown, DataView[]]);
  const state = { layer: 0, heads: [0], selected_token: -1, num_layers: 3, num_heads: 4, ...data(["Hello", " world"], 0, 1) } as AttentionModel;
  return { ...renderView(widget, state, { invoke }), invoke };
}

describe("attention widget", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("draws tokens, grid and heatmap from the model", () => {
    const { q } = setup();
    expect(q("token-1")?.textContent).toBe(" world");
    expect(q("head-2-3")).not.toBeNull();
    expect(q("attention-heatmap")?.dataset.version).toBe("1");
    expect(q("attention-view")?.dataset.ready).toBe("true");
    expect(q("status")?.textContent).toBe("ready");
    expect(q("empty-state")?.hidden).toBe(true);
    expect(q("colour-legend")?.textContent).toBe("weight00.25≥ 0.5");
  });

  it("selects heads by click (shift adds) and the mean of a layer", () => {
    const { model, q } = setup();
    q("head-2-1")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 2, heads: [1] });
    q("head-2-3")?.dispatchEvent(new MouseEvent("click", { bubbles: true, shiftKey: true }));
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 2, heads: [1, 3] });
    q("layer-mean-0")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
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
    model.update({ status: "error: the text is 5000 tokens long", _seq: 0 });
    expect(q("status")?.textContent).toBe("error: the text is 5000 tokens long");
    expect(q("token-0")?.textContent).toBe("Hello");
    model.update({ ...data([], 0, 3), _heatmap: null, _heatmap_meta: {}, _thumbnails: null, _thumbnails_meta: {} });
    expect(q("empty-state")?.hidden).toBe(false);
    expect(q("token-0")).toBeNull();
  });

  it("removes its listeners on cleanup", () => {
    const { model, cleanup, el } = setup();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
