import { beforeAll, describe, expect, it, vi } from "vitest";
import { cssAt, heatStops } from "../src/lib/colour";
import widget, { type GenerationModel } from "../src/generation";
import { colourValue, columnAt, columnCentre, columnMeans, entropyScale, HEAT_GAP, HEAT_ROW, LABEL_WIDTH, MAX_COLUMN, MIN_COLUMN, ROW_HEIGHT, splitBlocks, timelineLayout } from "../src/lib/generation/data";
import { READY } from "../src/lib/status";
import { renderView, wireArray } from "./fake_model";

beforeAll(() => {
  // jsdom has no 2D canvas: the timeline draws nothing but still lays itself out
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});

describe("splitBlocks", () => {
  it("puts everything after the prompt in the answer without a reasoning section", () => {
    expect(splitBlocks(3, 7, [])).toEqual({ prompt: [0, 3], reasoning: null, answer: [[3, 7]] });
  });
  it("places the reasoning section by generated-token indices", () => {
    expect(splitBlocks(3, 10, [0, 4])).toEqual({ prompt: [0, 3], reasoning: [3, 7], answer: [[7, 10]] });
  });
  it("keeps tokens before an opening <think> in the answer", () => {
    expect(splitBlocks(2, 8, [1, 4])).toEqual({ prompt: [0, 2], reasoning: [3, 6], answer: [[2, 3], [6, 8]] });
  });
  it("clamps a section that runs past the tokens shown", () => {
    expect(splitBlocks(2, 5, [0, 9])).toEqual({ prompt: [0, 2], reasoning: [2, 5], answer: [[5, 5]] });
  });
});

describe("colour scale", () => {
  it("is the probability, or the entropy over its scale, clamped to [0, 1]", () => {
    expect(colourValue("probability", 0.25, 3, 6)).toBe(0.25);
    expect(colourValue("entropy", 0.25, 3, 6)).toBe(0.5);
    expect(colourValue("entropy", 0.25, 9, 6)).toBe(1);
    expect(colourValue("probability", NaN, 0, 1)).toBe(0);
  });
  it("scales entropy to the largest shown, at least 1 nat", () => {
    expect(entropyScale(new Float32Array([0.2, 0.5]))).toBe(1);
    expect(entropyScale(new Float32Array([2, 5.5, 1]))).toBe(5.5);
  });
});

describe("timelineLayout", () => {
  it("fits the columns into the width, within 2–14 px", () => {
    const layout = timelineLayout(100, LABEL_WIDTH + 500, ["confidence", "entropy"]);
    expect(layout.columnWidth).toBe(5);
    expect(layout.width).toBe(LABEL_WIDTH + 500);
    expect(layout.height).toBe(2 * layout.rowHeight);
    expect(timelineLayout(3, 2000, ["confidence"]).columnWidth).toBe(MAX_COLUMN);
    expect(timelineLayout(5000, 800, ["confidence"]).columnWidth).toBe(MIN_COLUMN);
  });
  it("puts one thin row per MoE layer under the rows", () => {
    const layout = timelineLayout(10, 800, ["confidence", "entropy"], 58);
    expect(layout.heatTop).toBe(2 * layout.rowHeight + HEAT_GAP);
    expect(layout.height).toBe(layout.heatTop + 58 * HEAT_ROW);
    expect(timelineLayout(10, 800, ["confidence"]).height).toBe(ROW_HEIGHT);
  });
  it("averages the columns of a [layer, token] array", () => {
    expect(Array.from(columnMeans(new Float32Array([0, 1, 1, 1]), 2, 2))).toEqual([0.5, 1]);
  });
  it("hit-tests columns and skips the labels", () => {
    const layout = timelineLayout(10, LABEL_WIDTH + 100, ["confidence"]);
    expect(columnAt(layout, 10)).toBe(-1);
    expect(columnAt(layout, columnCentre(layout, 0))).toBe(0);
    expect(columnAt(layout, columnCentre(layout, 9))).toBe(9);
    expect(columnAt(layout, LABEL_WIDTH + 10 * layout.columnWidth + 1)).toBe(-1);
  });
});

function state(overrides: Partial<GenerationModel> = {}): GenerationModel {
  return {
    prompt: "hi",
    max_new_tokens: 8,
    temperature: 0,
    top_k: 0,
    top_p: 1,
    seed: null,
    chat: true,
    colour_by: "probability",
    selected_token: -1,
    generating: false,
    stop_reason: "",
    max_new_tokens_limit: null,
    num_layers: 4,
    status: READY,
    _tokens: [],
    _prompt_length: 0,
    _probs: null,
    _entropies: null,
    _think: [],
    _lens_layer: null,
    _expert_change: null,
    _data_id: 0,
    ...overrides,
  };
}

const streamed = (n: number): Partial<GenerationModel> => {
  const texts = ["<p>", "hi", "<b>x</b>", "</think>", " 4", " ok"].slice(0, 2 + n);
  return {
    _tokens: texts.map((t) => [t, 0] as [string, number]),
    _prompt_length: 2,
    _probs: wireArray("float32", [n], new Float32Array([0.9, 0.2, 0.5, 0.7].slice(0, n))),
    _entropies: wireArray("float32", [n], new Float32Array([0.1, 3, 1, 2].slice(0, n))),
    _think: n >= 2 ? [0, 2] : [0, n],
  };
};

describe("GenerationView", () => {
  it("appends streamed tokens to the reasoning and answer blocks as DOM text", () => {
    const { model, q, el } = renderView(widget, state());
    model.update({ ...streamed(1), _data_id: 1 });
    expect(q("reasoning-block")?.textContent).toContain("<b>x</b>");
    expect(el.querySelector("b")).toBeNull();
    const first = q("token-2");
    const before = Number(q("generation-tokens")?.dataset.version);
    model.update({ ...streamed(4), _data_id: 2 });
    expect(q("token-2")).toBe(first); // appended, not redrawn from scratch
    expect(Number(q("generation-tokens")?.dataset.version)).toBe(before + 1);
    expect(q("reasoning-block")?.querySelectorAll(".dsv-token").length).toBe(2);
    expect(q("answer-block")?.textContent).toContain(" 4 ok");
    expect(q("token-2")?.style.backgroundColor).not.toBe("");
    expect(q("generation-timeline")?.dataset.columns).toBe("4");
    expect(q("generation-timeline")?.dataset.rows).toBe("confidence,entropy");
  });

  it("colours tokens on the themed heat scale (its low end the ground) and shows its legend", () => {
    const { model, q } = renderView(widget, state(), { attach: true });
    model.update({ ...streamed(4), _data_id: 1 });
    // probability 0.9 on the (white) ground: near the dark end of the scale, white ink on it
    const first = heatStops([255, 255, 255]);
    expect(q("token-2")?.style.backgroundColor).toBe(cssAt(first, 0.9));
    expect(q("token-2")?.style.color).toBe("rgb(255, 255, 255)");
    expect(q("token-3")?.style.backgroundColor).toBe(cssAt(first, 0.2)); // pale: close to the ground
    expect(q("timeline-legend")?.querySelector(".dsv-legend-ticks")?.textContent).toBe("0%50%100%");
    expect(q("timeline-legend")?.textContent).toContain("colour: probability");
    expect(q("legend-bar")?.style.background).toContain("linear-gradient");
    model.update({ colour_by: "entropy" });
    expect(q("timeline-legend")?.textContent).toContain("colour: entropy (nats)");
    expect(q("timeline-legend")?.querySelector(".dsv-legend-ticks")?.textContent).toBe("01.53");
  });

  it("adds the lens and expert rows once they arrive, and shows them in the tooltip", () => {
    const { model, q } = renderView(widget, state());
    model.update({
      ...streamed(2),
      _lens_layer: wireArray("uint16", [2], new Uint16Array([1, 5])),
      _expert_change: wireArray("float32", [2, 2], new Float32Array([0.5, 0, 0.5, 0.5])), // [MoE layer, token]
      _data_id: 1,
    });
    expect(q("generation-timeline")?.dataset.rows).toBe("confidence,entropy,lens agrees from layer,expert change");
    expect(q("generation-timeline")?.dataset.heatRows).toBe("2");
    q("token-2")?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const tip = q("generation-tooltip")?.textContent ?? "";
    expect(tip).toContain("probability 90%");
    expect(tip).toContain("lens agrees from layer 1");
    expect(tip).toContain("experts changed 50%"); // the mean over the MoE layers
    q("token-3")?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("generation-tooltip")?.textContent).toContain("experts changed 25%");
    q("token-3")?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("generation-tooltip")?.textContent).toContain("the lens never agrees");
  });

  it("sends Generate with the settings, flips to Stop while generating, and selects a clicked token", async () => {
    const invoke = vi.fn().mockResolvedValue([{ started: true }, []]);
    const { model, q } = renderView(widget, state(), { invoke });
    (q("generation-prompt") as HTMLTextAreaElement).value = "What?";
    q("generate-button")?.click();
    expect(invoke).toHaveBeenCalledWith("_generate", { prompt: "What?", max_new_tokens: 8, temperature: 0, chat: true }, expect.anything());
    model.update({ generating: true, status: { state: "computing", message: "" } });
    expect(q("stop-button")?.textContent).toBe("Stop");
    q("stop-button")?.click();
    expect(invoke).toHaveBeenLastCalledWith("_stop", {}, expect.anything());
    model.update({ ...streamed(2), generating: false, stop_reason: "stopped", status: READY, _data_id: 1 });
    expect(q("status")?.textContent).toBe("ready — stopped");
    q("token-3")?.click();
    expect(model.saved[model.saved.length - 1]).toEqual({ selected_token: 3 });
    expect(q("token-3")?.classList.contains("dsv-selected")).toBe(true);
    await Promise.resolve();
  });
});
