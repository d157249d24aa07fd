// The embedding scatter's DOM (js/src/scatter.ts) on a fake model in jsdom: the selection tools, the
// legend's live entry, the caption, the selection panel and the fit after a resize. jsdom draws nothing:
// the canvases get a 2-D context whose methods do nothing.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget, { type ScatterModel } from "../src/scatter";
import { toScreen, type Camera } from "../src/lib/scatter/camera";
import { READY } from "../src/lib/status";
import { renderView, wireArray } from "./fake_model";

const COORDS = [0, 0, 1, 0, 0, 1, 10, 10, 11, 10];
const LABELS = [0, 0, 1, 1, 1];

function state(changes: Partial<ScatterModel> = {}): ScatterModel {
  return {
    selected: [],
    clicked: -1,
    clicked_text: "",
    live_point: [],
    live_text: "",
    status: READY,
    mode: "texts",
    _coords: wireArray("float32", [5, 2], Float32Array.from(COORDS)),
    _labels: wireArray("uint8", [5], Uint8Array.from(LABELS), 255),
    _label_names: ["finance", "<b>health</b>"],
    _colours: ["#ff0000", "#0000ff"],
    _texts: ["t0", "t1", "<img src=x> t2", "t3", "t4"],
    _paths: {},
    _caption: "5 texts placed by layer 2's mean-pooled hidden state; PCA to 2-D; colour: label.",
    _data_id: 1,
    ...changes,
  };
}

/** A 2-D context that draws nothing. */
function fakeContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const target: Record<string | symbol, unknown> = { canvas };
  return new Proxy(target, {
    get: (object, key) => (key in object ? object[key] : () => undefined),
    set: () => true,
  }) as unknown as CanvasRenderingContext2D;
}

let resize: (() => void) | null = null;
let size = { width: 600, height: 460 };

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function (this: HTMLCanvasElement, kind: string) {
    return kind === "2d" ? fakeContext(this) : null;
  } as unknown as typeof HTMLCanvasElement.prototype.getContext);
  vi.stubGlobal(
    "ResizeObserver",
    class {
      constructor(callback: () => void) {
        resize = callback;
      }
      observe(): void {}
      disconnect(): void {}
    },
  );
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockImplementation(() => size.width);
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockImplementation(() => size.height);
  // draws at once; 0 is "no frame pending" to the view, so the next request draws again
  vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => {
    callback(0);
    return 0;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  size = { width: 600, height: 460 };
});

describe("the scatter view", () => {
  it("shows the caption Python sent", () => {
    const { q } = renderView(widget, state());
    expect(q("scatter-caption")?.textContent).toMatch(/layer 2's mean-pooled hidden state; PCA to 2-D/);
    expect(q("scatter-caption")?.hidden).toBe(false);
  });

  it("has box and lasso as two buttons, the pressed one the tool", () => {
    const { q } = renderView(widget, state());
    const [box, lasso] = [q("select-box"), q("select-lasso")];
    expect(box?.tagName).toBe("BUTTON");
    expect(lasso?.tagName).toBe("BUTTON");
    expect([box?.getAttribute("aria-pressed"), lasso?.getAttribute("aria-pressed")]).toEqual(["true", "false"]);
    lasso?.click();
    expect([box?.getAttribute("aria-pressed"), lasso?.getAttribute("aria-pressed")]).toEqual(["false", "true"]);
    expect(lasso?.textContent).toBe("lasso"); // the label does not flip
    expect(q("select-tool")?.getAttribute("role")).toBe("group");
    expect(q("embedding-scatter")?.querySelector(".dsv-scatter-hint")?.textContent).toMatch(/shift-drag: select \(lasso\)/);
  });

  it("has a legend entry for the live point only while one is shown", () => {
    const { q, model } = renderView(widget, state());
    expect(q("legend-live")).toBeNull();
    expect(q("legend-0")?.tagName).toBe("BUTTON"); // keyboard reaches the label entries
    model.update({ live_point: [0.5, 0.5], live_text: "my text" });
    expect(q("legend-live")?.textContent).toBe("the text being edited");
    expect(q("legend-live")?.title).toBe("my text");
    expect(q("legend-live")?.querySelector(".dsv-live-diamond")).not.toBeNull();
    expect(q("live-point")?.classList.contains("dsv-live-diamond")).toBe(true); // the same shape
    model.update({ live_point: [], live_text: "" });
    expect(q("legend-live")).toBeNull();
  });

  it("a legend of one label is hidden, but not while a live point shows", () => {
    const { q, model } = renderView(widget, state({ _label_names: [""], _labels: wireArray("uint8", [5], new Uint8Array(5), 255) }));
    expect(q("scatter-legend")?.hidden).toBe(true);
    model.update({ live_point: [0.5, 0.5], live_text: "x" });
    expect(q("scatter-legend")?.hidden).toBe(false);
    expect(q("scatter-legend")?.querySelectorAll(".dsv-legend-entry").length).toBe(0);
  });

  it("fills the selection panel from `selected`: counts per label, texts as text, clear", () => {
    const { q, model, el } = renderView(widget, state());
    expect(q("selection-panel")?.hidden).toBe(true);
    model.update({ selected: [1, 2, 4] });
    expect(q("selection-panel")?.hidden).toBe(false);
    expect(q("selection-count")?.textContent).toBe("3 selected");
    const labels = [...el.querySelectorAll(".dsv-selection-label")].map((node) => node.textContent);
    expect(labels).toEqual(["<b>health</b>2", "finance1"]); // most first, names as text
    const items = [...el.querySelectorAll<HTMLButtonElement>('[data-testid="selection-item"]')];
    expect(items.map((item) => item.textContent)).toEqual(["t1", "<img src=x> t2", "t4"]);
    expect(el.querySelector("img")).toBeNull();
    q("clear-selection")?.click();
    expect(model.saved[model.saved.length - 1]).toEqual({ selected: [] });
  });

  it("lists the first ten and counts the rest", () => {
    const n = 14;
    const { model, el, q } = renderView(
      widget,
      state({
        _coords: wireArray("float32", [n, 2], Float32Array.from({ length: 2 * n }, (_, i) => i)),
        _labels: wireArray("uint8", [n], new Uint8Array(n), 255),
        _label_names: ["all"],
        _texts: Array.from({ length: n }, (_, i) => `text ${i}`),
      }),
    );
    model.update({ selected: Array.from({ length: n }, (_, i) => i) });
    expect(el.querySelectorAll('[data-testid="selection-item"]').length).toBe(10);
    expect(q("selection-more")?.textContent).toMatch(/and 4 more/);
    expect(el.querySelectorAll(".dsv-selection-label").length).toBe(0); // one label: no counts per label
  });

  it("a listed text is clicked like its point", () => {
    const invoke = vi.fn().mockResolvedValue([{ index: 2 }, []]);
    const { model, el } = renderView(widget, state(), { invoke });
    model.update({ selected: [2, 3] });
    el.querySelector<HTMLButtonElement>('[data-index="2"]')?.click();
    expect(invoke).toHaveBeenCalledWith("_click", { index: 2 }, expect.anything());
  });

  it("asks Python for listed texts it was not sent", async () => {
    const invoke = vi.fn((_name: string, msg: { index: number }) => Promise.resolve([{ index: msg.index, text: `fetched ${msg.index}` }, []]));
    const { model, el } = renderView(widget, state({ _texts: [] }), { invoke });
    model.update({ selected: [0, 3] });
    await vi.waitFor(() => {
      const items = [...el.querySelectorAll('[data-testid="selection-item"]')].map((item) => item.textContent);
      expect(items).toEqual(["fetched 0", "fetched 3"]);
    });
  });

  it("an expert map lists each selected expert's first line", () => {
    const { model, el } = renderView(widget, state({ mode: "experts", _texts: ["expert 0 · 3% of slots\ntop tokens: a", "e1", "e2", "e3", "e4"] }));
    model.update({ selected: [0] });
    expect(el.querySelector('[data-testid="selection-item"]')?.textContent).toBe("expert 0 · 3% of slots");
  });

  it("fits every point on the canvas, and again after a resize", () => {
    const { q } = renderView(widget, state());
    const root = q("embedding-scatter") as HTMLElement;
    const onCanvas = (): boolean => {
      const { width, height, ...camera } = JSON.parse(root.dataset.camera ?? "{}") as Camera & { width: number; height: number };
      return [0, 1, 2, 3, 4].every((i) => {
        const [x, y] = toScreen(camera, COORDS[2 * i], COORDS[2 * i + 1], width, height);
        return x >= 0 && x <= width && y >= 0 && y <= height;
      });
    };
    resize?.();
    expect(onCanvas()).toBe(true);
    expect(root.dataset.fit).toBe("all");
    size = { width: 200, height: 460 }; // narrower than tall: the width decides the scale
    resize?.();
    expect(JSON.parse(root.dataset.camera ?? "{}").width).toBe(200);
    expect(onCanvas()).toBe(true);
    expect(root.dataset.fit).toBe("all");
  });
});
