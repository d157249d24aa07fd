import { describe, expect, it, vi } from "vitest";
import widget, { LENS_COLUMNS, visible, type PredictionModel } from "../src/predictions";
import { decodeLens, LensCache, rowName, visibleRange } from "../src/lib/routing/lens";
import type { WireArray } from "../src/lib/buffers";
import { NORMAL, SPECIAL, type TokenEntry } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import { READY } from "../src/lib/status";
import { formatPercent } from "../src/lib/format";

// 3 lens rows (embed, L0, L1 = output) × 2 positions × top-2, texts by index into STRINGS.
const STRINGS = ["<img src=x onerror=alert(1)>", " the", "\n", "cat"];
const IDS = [0, 1, 2, 3, 1, 0, 3, 2, 3, 1, 1, 2];
/** float16 bits: 1, 0, 0.5, 0.25, 0.75, 0.0013 (≈), 0.125, 0.0625, 0.875, 0.03125, 0.4, 0.375 */
const PROB_BITS = [0x3c00, 0x0000, 0x3800, 0x3400, 0x3a00, 0x1553, 0x3000, 0x2c00, 0x3b00, 0x2800, 0x3666, 0x3600];
const idsView = (): WireArray => wireArray("uint16", [3, 2, 2], Uint16Array.from(IDS));
const probsView = (): WireArray => wireArray("float16", [3, 2, 2], Uint16Array.from(PROB_BITS));

describe("logit lens data", () => {
  it("decodes a window's top-k texts and float16 probabilities, small ones kept", () => {
    const lens = decodeLens(idsView(), probsView(), STRINGS, 5);
    if (!lens) throw new Error("no lens decoded");
    expect([lens.start, lens.rows, lens.count, lens.k]).toEqual([5, 3, 2, 2]);
    const cache = new LensCache();
    cache.add(lens);
    expect(cache.candidates(2, 6)).toEqual([
      { text: " the", prob: expect.closeTo(0.4, 3) },
      { text: "\n", prob: 0.375 },
    ]);
    expect(cache.candidates(1, 5)?.[1].prob).toBeCloseTo(0.0013, 5);
    expect(formatPercent(cache.candidates(1, 5)?.[1].prob ?? 0)).toBe("0.13%");
    expect(cache.has(4)).toBe(false);
    expect(cache.firstMissing(3, 8)).toBe(3);
    expect(cache.firstMissing(5, 7)).toBe(-1);
    expect(decodeLens(null, null, [])).toBeNull();
    expect(() => decodeLens(idsView(), probsView(), STRINGS.slice(0, 2))).toThrow(/outside/);
    const short = wireArray("float16", [3, 2, 1], Uint16Array.from(PROB_BITS.slice(0, 6)));
    expect(() => decodeLens(idsView(), short, STRINGS)).toThrow(/disagree/);
  });

  it("formats probabilities with their precision, finds the columns in view and names rows", () => {
    expect([1, 0.45, 0.031, 0.0013, 0.000042, 1.2e-8, 0].map(formatPercent)).toEqual(["100%", "45%", "3.1%", "0.13%", "0.0042%", "1.2e-6%", "0%"]);
    expect(visibleRange(0, 640, 64, 512)).toEqual([0, 10]);
    expect(visibleRange(64 * 500, 640, 64, 512)).toEqual([500, 510]);
    expect(visibleRange(64 * 508, 640, 64, 512)).toEqual([508, 512]);
    expect(visibleRange(0, 640, 64, 3)).toEqual([0, 3]);
    expect([rowName(0, 3), rowName(1, 3), rowName(2, 3)]).toEqual(["embed", "L0", "L1 (out)"]);
    expect(rowName(61, 62)).toBe("L60 (out)");
    expect([" the", "\x01", "a\x7f", "\r\n", ""].map(visible)).toEqual(["␣the", "<0x01>", "a<0x7F>", "<0x0D>⏎", "∅"]);
  });
});

const TOKENS: TokenEntry[] = [
  ["<bos>", SPECIAL],
  ["Hello", NORMAL],
];

function setup(invoke = vi.fn(), tokens = TOKENS, start = 0) {
  const state: PredictionModel = {
    text: "Hello",
    status: READY,
    _seq: 0,
    selected_token: -1,
    k: 2,
    num_layers: 2,
    _tokens: tokens,
    _strings: STRINGS,
    _lens_ids: idsView(),
    _lens_probs: probsView(),
    _lens_start: start,
    _predictions: [
      ["cat", 0.5],
      [" the", 0.25],
    ],
    _predictions_at: tokens.length - 1,
    _data_id: 1,
  };
  return renderView(widget, state, { attach: true, invoke });
}

describe("prediction widget", () => {
  it("draws the lens grid with the top token and its probability, coloured by it", () => {
    const { q, el } = setup();
    expect(q("prediction-view")?.dataset.ready).toBe("true");
    expect(el.querySelectorAll('[data-testid^="lens-"][data-row]')).toHaveLength(3 * 2);
    const tok = (id: string): string | null | undefined => q(id)?.querySelector(".dsv-ll-tok")?.textContent;
    const prob = (id: string): string | null | undefined => q(id)?.querySelector(".dsv-ll-p")?.textContent;
    expect(tok("lens-0-0")).toBe(STRINGS[0]);
    expect(prob("lens-0-0")).toBe("100%");
    expect(prob("lens-1-0")).toBe("75%");
    expect(el.querySelector("img")).toBeNull();
    expect(tok("lens-0-1")).toBe("⏎"); // whitespace made visible
    expect(tok("lens-1-0")).toBe("␣the");
    // the themed heat scale: on the (white) ground, probability 1 is the dark end, with white ink on it
    expect(q("lens-0-0")?.style.background).toContain("rgb(68, 1, 84)");
    expect(q("lens-0-0")?.style.color).toBe("rgb(255, 255, 255)");
    expect(q("lens-row-2")?.textContent).toBe("L1 (out)");
    // the corner says what both axes are; the column heads give position and token, full text on hover
    expect([...(q("lens-corner")?.children ?? [])].map((n) => n.textContent)).toEqual(["position →", "token →", "layer ↓"]);
    expect([q("lens-position-1")?.dataset.position, q("lens-position-1")?.textContent]).toEqual(["1", "Hello"]); // CSS draws the number
    expect(q("lens-position-1")?.title).toBe("position 1: Hello");
    // the legend: the same scale, ticks as percentages
    expect(q("lens-legend")?.textContent).toBe("top-1 probability0%50%100%");
    expect(q("predictions")?.textContent).toContain("after 1: Hello"); // the last position by default
    // the top-k: token and probability in elements of their own (rows from the lens's last row)
    expect([q("prediction-0")?.textContent, q("prediction-prob-0")?.textContent]).toEqual(["␣the", "40%"]);
    expect(LENS_COLUMNS).toBeGreaterThan(8);
  });

  it("shows the top-k on hover of a cell or a token, and selects positions", () => {
    const { q, model, cleanup } = setup();
    q("lens-2-1")?.dispatchEvent(new MouseEvent("mousemove", { bubbles: true }));
    expect(q("lens-tooltip")?.hidden).toBe(false);
    expect(q("lens-tooltip")?.textContent).toContain("L1 (out), after Hello\n1. ␣the  40%");
    q("token-0")?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("predictions")?.textContent).toContain("after 0: <bos>");
    q("token-0")?.click();
    expect(model.get("selected_token")).toBe(0);
    expect(q("lens-position-0")?.classList.contains("dsv-on")).toBe(true);
    q("lens-1-1")?.click();
    expect(model.get("selected_token")).toBe(1);
    expect(q("lens-0-1")?.classList.contains("dsv-ll-col")).toBe(true); // the column is marked
    expect(q("lens-0-0")?.classList.contains("dsv-ll-col")).toBe(false);
    const version = Number(q("logit-lens")?.dataset.version);
    model.update({ _tokens: [], _lens_ids: null, _lens_probs: null, _strings: [], _predictions: [], _data_id: 2 });
    expect(Number(q("logit-lens")?.dataset.version)).toBeGreaterThan(version);
    expect(q("empty-state")?.hidden).toBe(false);
    cleanup();
    expect([...model.handlers.values()].every((set) => set.size === 0)).toBe(true);
  });

  it("moves a focused cell with the arrow keys and selects its position with Enter or Space", () => {
    const { q, model } = setup();
    expect(q("lens-2-1")?.getAttribute("tabindex")).toBe("0"); // the last row at the last position
    expect(q("lens-0-0")?.getAttribute("tabindex")).toBe("-1");
    (q("lens-2-1") as HTMLElement).focus();
    const key = (name: string): void => {
      (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true }));
    };
    key("ArrowLeft");
    key("ArrowUp");
    expect(document.activeElement).toBe(q("lens-1-0"));
    expect(q("lens-1-0")?.getAttribute("tabindex")).toBe("0");
    key("Enter");
    expect(model.get("selected_token")).toBe(0);
    expect(q("lens-position-0")?.classList.contains("dsv-on")).toBe(true);
    key("ArrowRight");
    key(" ");
    expect(model.get("selected_token")).toBe(1);
  });

  it("fetches the window of positions in view that it lacks, with the data id, and draws it", async () => {
    const long: TokenEntry[] = Array.from({ length: 40 }, (_, i) => [`t${i}`, NORMAL]);
    // Python answers for positions 0-1 (the window the view starts with is 38-39)
    const invoke = vi.fn(async (name: string, msg: { data_id: number; start: number; count: number }) => {
      expect(name).toBe("_lens_window");
      const ids = Uint16Array.from(IDS);
      const probs = Uint16Array.from(PROB_BITS);
      const reply = { data_id: msg.data_id, start: msg.start, strings: STRINGS, ids: { dtype: "uint16", shape: [3, 2, 2], scale: 1 }, probs: { dtype: "float16", shape: [3, 2, 2], scale: 1 } };
      return [reply, [new DataView(ids.buffer), new DataView(probs.buffer)]];
    });
    const { q } = setup(invoke, long, 38);
    const scroller = q("lens-scroll") as HTMLElement;
    scroller.scrollLeft = 0; // the user scrolls to the start (jsdom has no layout: it is there already)
    scroller.dispatchEvent(new Event("scroll"));
    await vi.waitFor(() => expect(invoke).toHaveBeenCalled());
    expect(invoke.mock.calls[0][1]).toMatchObject({ data_id: 1, start: 0, count: 2 });
    await vi.waitFor(() => expect(q("lens-2-1")).not.toBeNull());
    expect(q("lens-2-1")?.querySelector(".dsv-ll-p")?.textContent).toBe("40%");
  });
});
