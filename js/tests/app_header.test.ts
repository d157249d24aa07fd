import { describe, expect, it, vi } from "vitest";
import header, { helpItems, sizeLabel, type AppHeaderModel } from "../src/app_header";
import { renderView } from "./fake_model";

const STATE: AppHeaderModel = {
  product: "deepseek-viz",
  model_name: "<b>org/model</b>",
  model_info: "deepseek_v3 · 4 layers × 6 heads",
  figures: [
    ["attention", "attention heatmap"],
    ["map", "embedding map"],
  ],
  has_generation: false,
};

describe("app header", () => {
  it("shows the model's name and info as text, and the figures to export", () => {
    const { q, cleanup, model } = renderView(header, { ...STATE });
    expect(q("app-model-name")?.textContent).toBe("<b>org/model</b>");
    expect(q("app-model-name")?.querySelector("b")).toBeNull();
    expect(q("app-model-info")?.textContent).toBe(STATE.model_info);
    expect([...(q("export-figure") as HTMLSelectElement).options].map((o) => o.value)).toEqual(["attention", "map"]);
    expect(q("app-header")?.dataset.ready).toBe("true");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("names the gestures in its help, the generation panel only when there is one", () => {
    const text = (items: [string, string][]) => items.map((pair) => pair.join("")).join("\n");
    expect(text(helpItems(false))).toMatch(/shift-click.*alt-click/s);
    expect(text(helpItems(false))).not.toContain("Generate:");
    expect(text(helpItems(true))).toContain("Generate:");
  });

  it("asks the kernel for the export and shows its error beside the buttons", async () => {
    const invoke = vi.fn().mockResolvedValue([{ error: "the view shows no attention: its text is empty" }, []]);
    const { q } = renderView(header, { ...STATE }, { invoke });
    q("export-svg")?.click();
    await vi.waitFor(() => expect(q("export-error")?.hidden).toBe(false));
    expect(invoke.mock.calls[0][0]).toBe("_export");
    expect(invoke.mock.calls[0][1]).toEqual({ kind: "svg", figure: "attention" });
    expect(q("export-error")?.textContent).toBe("error: the view shows no attention: its text is empty");
    expect((q("export-svg") as HTMLButtonElement).disabled).toBe(false);
  });

  it("sizes files readably", () => {
    expect([sizeLabel(512), sizeLabel(82_000), sizeLabel(1_234_567)]).toEqual(["512 B", "82 KB", "1.2 MB"]);
  });
});
