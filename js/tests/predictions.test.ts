import { describe, expect, it } from "vitest";
import widget, { LENS_COLUMNS, type PredictionModel } from "../src/predictions";
import { candidates, decodeLens, lensWindow, rowName } from "../src/lib/routing/lens";
import type { WireArray } from "../src/lib/buffers";
import { NORMAL, SPECIAL, type TokenEntry } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import { READY } from "../src/lib/status";

// 3 lens rows (embed, L0, L1 = output) × 2 positions × top-2, texts by index into STRINGS.
const STRINGS = ["<img src=x onerror=alert(1)>", " the", "\n", "cat"];
const IDS = [0, 1, 2, 3, 1, 0, 3, 2, 3, 1, 1, 2];
const PROBS = [255, 0, 128, 64, 200, 20, 51, 25, 230, 10, 102, 100];
const idsView = (): WireArray => wireArray("uint16", [3, 2, 2], Uint16Array.from(IDS));
const probsView = (): WireArray => wireArray("uint8", [3, 2, 2], Uint8Array.from(PROBS));

describe("logit lens data", () => {
  it("decodes the top-k texts and probabilities of every layer and position", () => {
    const lens = decodeLens(idsView(), probsView(), STRINGS);
    if (!lens) throw new Error("no lens decoded");
    expect([lens.rows, lens.n, lens.k]).toEqual([3, 2, 2]);
    expect(candidates(lens, 2, 1)).toEqual([
      { text: " the", prob: expect.closeTo(0.4, 5) },
      { text: "\n", prob: expect.closeTo(100 / 255, 5) },
    ]);
    expect(decodeLens(null, null, [])).toBeNull();
    expect(() => decodeLens(idsView(), probsView(), STRINGS.slice(0, 2))).toThrow(/outside/);
    const short = wireArray("uint8", [3, 2, 1], Uint8Array.from(PROBS.slice(0, 6)));
    expect(() => decodeLens(idsView(), short, STRINGS)).toThrow(/disagree/);
  });

  it("windows long texts around the focus and names rows", () => {
    expect(lensWindow(10, 3, 32)).toEqual([0, 10]);
    expect(lensWindow(100, -1, 32)).toEqual([68, 100]);
    expect(lensWindow(100, 50, 32)).toEqual([34, 66]);
    expect(lensWindow(100, 2, 32)).toEqual([0, 32]);
    expect([rowName(0, 3), rowName(1, 3), rowName(2, 3)]).toEqual(["embed", "L0", "L1 (out)"]);
  });
});

const TOKENS: TokenEntry[] = [
  ["<bos>", SPECIAL],
  ["Hello", NORMAL],
];

function setup() {
  const state: PredictionModel = {
    text: "Hello",
    status: READY,
    _seq: 0,
    selected_token: -1,
    k: 2,
    num_layers: 2,
    _tokens: TOKENS,
    _strings: STRINGS,
    _lens_ids: idsView(),
    _lens_probs: probsView(),
    _data_id: 1,
  };
  return renderView(widget, state, { attach: true });
}

describe("prediction widget", () => {
  it("draws the lens grid with the top token as text and the probability as colour", () => {
    const { q, el } = setup();
    expect(q("prediction-view")?.dataset.ready).toBe("true");
    expect(el.querySelectorAll('[data-testid^="lens-"][data-row]')).toHaveLength(3 * 2);
    expect(q("lens-0-0")?.textContent).toBe(STRINGS[0]);
    expect(el.querySelector("img")).toBeNull();
    expect(q("lens-0-1")?.textContent).toBe("⏎"); // whitespace made visible
    expect(q("lens-1-0")?.textContent).toBe("␣the");
    expect(q("lens-0-0")?.style.background).toContain("rgb(253, 231, 37)"); // probability 1 → top colour
    expect(q("predictions")?.textContent).toContain("after 1: Hello"); // the last position by default
    expect(LENS_COLUMNS).toBeGreaterThan(8);
  });

  it("shows the top-k on hover of a cell or a token, and selects positions", () => {
    const { q, model, cleanup } = setup();
    q("lens-2-1")?.dispatchEvent(new MouseEvent("mousemove", { bubbles: true }));
    expect(q("lens-tooltip")?.hidden).toBe(false);
    expect(q("lens-tooltip")?.textContent).toContain("1. ␣the  0.4");
    q("token-0")?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("predictions")?.textContent).toContain("after 0: <bos>");
    q("token-0")?.click();
    expect(model.get("selected_token")).toBe(0);
    expect(q("lens-position-0")?.classList.contains("dsv-on")).toBe(true);
    const version = Number(q("logit-lens")?.dataset.version);
    model.update({ _tokens: [], _lens_ids: null, _lens_probs: null, _strings: [], _data_id: 2 });
    expect(Number(q("logit-lens")?.dataset.version)).toBeGreaterThan(version);
    expect(q("empty-state")?.hidden).toBe(false);
    cleanup();
    expect([...model.handlers.values()].every((set) => set.size === 0)).toBe(true);
  });
});
