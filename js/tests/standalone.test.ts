import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { decodeQuantised, type WireArray } from "../src/lib/buffers";
import { applyLayout, decodeBase64, loadView, NO_KERNEL, StaticModel, StaticPage, withBuffers, type PageState } from "../src/standalone";

const manager = { get_model: vi.fn() };

/** A view module like the package's: shows `text`, a text box, `selected_token`; asks the kernel on demand. */
const fakeView: AnyWidget = {
  render({ model, el, experimental }: RenderProps) {
    const box = document.createElement("textarea");
    const shown = document.createElement("span");
    shown.dataset.testid = "selected";
    const show = () => {
      shown.textContent = String(model.get("selected_token"));
    };
    model.on("change:selected_token", show);
    show();
    el.append(document.createTextNode(model.get("text")), box, shown);
    el.addEventListener("click", () => {
      model.set("selected_token", 2);
      model.save_changes();
    });
    el.addEventListener("dblclick", () => {
      experimental.invoke("_edit", {}).catch((error: Error) => (el.dataset.error = error.message));
    });
  },
};

const anywidget = (text: string, extra: Record<string, unknown> = {}) => ({
  model_name: "AnyModel",
  module: "fake",
  state: { text, selected_token: -1, layout: "IPY_MODEL_wide", _dom_classes: ["dsv-panel"], ...extra },
});

function page(): PageState {
  return {
    roots: ["top"],
    models: {
      top: { model_name: "VBoxModel", state: { children: ["IPY_MODEL_row", "IPY_MODEL_label", "IPY_MODEL_button"] } },
      row: { model_name: "HBoxModel", state: { children: ["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"], layout: "IPY_MODEL_rowlayout" } },
      rowlayout: { model_name: "LayoutModel", state: { justify_content: "space-between", gap: "20px" } },
      a: anywidget("same text"),
      b: anywidget("same text"),
      c: anywidget("other text"),
      label: { model_name: "LabelModel", state: { value: "<b>not bold</b>" } },
      button: { model_name: "ButtonModel", state: { description: "go" } },
      wide: { model_name: "LayoutModel", state: { width: "50%", grid_template_columns: "1fr 2fr", _model_name: "LayoutModel", height: null } },
    },
  };
}

async function rendered(state: PageState = page()) {
  const load = vi.fn(async (name: string) => {
    if (name !== "fake") throw new Error(`no module ${name}`);
    return { default: fakeView };
  });
  const container = document.createElement("div");
  const staticPage = new StaticPage(state, load);
  await staticPage.render(container);
  const views = [...container.querySelectorAll<HTMLElement>(".dsv-panel")];
  return { container, views, staticPage, load };
}

describe("static model", () => {
  it("fires change events for new values only and hands saved names on", () => {
    const onSave = vi.fn();
    const model = new StaticModel({ layer: 0 }, manager, onSave);
    const changed = vi.fn();
    const any = vi.fn();
    model.on("change:layer", changed);
    model.on("change", any);
    model.set("layer", 0);
    expect(changed).not.toHaveBeenCalled();
    model.set("layer", 2);
    expect(model.get("layer")).toBe(2);
    expect(changed).toHaveBeenCalledWith(model, 2);
    expect(any).toHaveBeenCalledTimes(1);
    model.save_changes();
    expect(onSave).toHaveBeenLastCalledWith(model, ["layer"]);
    model.save_changes();
    expect(onSave).toHaveBeenLastCalledWith(model, []);
    model.off("change:layer", changed);
    model.set("layer", 3);
    expect(changed).toHaveBeenCalledTimes(1);
    model.off();
    model.set("layer", 4);
    expect(any).toHaveBeenCalledTimes(2);
  });

  it("puts base64 buffers back as DataViews at their paths", () => {
    expect([...new Uint8Array(decodeBase64("AAH/").buffer)]).toEqual([0, 1, 255]);
    const state = withBuffers({ model_name: "AnyModel", state: { meta: { parts: [null] } }, buffers: [{ path: ["meta", "parts", 0], encoding: "base64", data: "Kg==" }] });
    const view = (state.meta as { parts: DataView[] }).parts[0];
    expect(view).toBeInstanceOf(DataView);
    expect(view.getUint8(0)).toBe(42);
  });

  it("restores an array trait's buffer inside its header, readable by the shared decoder", () => {
    // what save_html embeds for `_heatmap = encode_uint8([[0, 1], [0.5, 1]])`: header in the state, bytes at ["_heatmap", "buffer"]
    const entry = { model_name: "AnyModel", state: { _heatmap: { dtype: "uint8", shape: [2, 2], scale: 1 }, _thumbnails: null }, buffers: [{ path: ["_heatmap", "buffer"], encoding: "base64" as const, data: "AP+A/w==" }] };
    const state = withBuffers(entry);
    expect(Array.from(decodeQuantised(state._heatmap as WireArray)?.bytes ?? [])).toEqual([0, 255, 128, 255]);
    expect(decodeQuantised(state._thumbnails as null)).toBeNull();
  });

  it("sets an ipywidgets layout as CSS properties", () => {
    const el = document.createElement("div");
    applyLayout(el, { width: "50%", grid_template_columns: "1fr 2fr", height: null, _model_name: "LayoutModel" });
    expect(el.style.width).toBe("50%");
    expect(el.style.gridTemplateColumns).toBe("1fr 2fr");
    expect(el.style.height).toBe("");
  });
});

describe("static page", () => {
  afterEach(() => vi.restoreAllMocks());

  it("draws boxes as flex rows and columns, views by their module, labels as text, others named", async () => {
    const { container, views, load } = await rendered();
    const [top] = container.children as unknown as HTMLElement[];
    expect(top.style.flexDirection).toBe("column");
    const row = top.children[0] as HTMLElement;
    expect(row.style.flexDirection).toBe("row");
    expect([row.style.justifyContent, row.style.gap]).toEqual(["space-between", "20px"]); // its layout wins
    expect(views.map((view) => view.firstChild?.textContent)).toEqual(["same text", "same text", "other text"]);
    expect(views[0].style.width).toBe("50%");
    expect(load).toHaveBeenCalledWith("fake");
    expect(top.children[1].textContent).toBe("<b>not bold</b>");
    expect(top.children[1].querySelector("b")).toBeNull();
    expect(top.children[2].textContent).toBe("ButtonModel: not part of the static export");
  });

  it("makes text boxes read-only and rejects commands: there is no kernel", async () => {
    const { views } = await rendered();
    expect(views[0].querySelector("textarea")?.readOnly).toBe(true);
    views[0].dispatchEvent(new MouseEvent("dblclick"));
    await vi.waitFor(() => expect(views[0].dataset.error).toBe(NO_KERNEL));
  });

  it("shares a selected token with the other views of the same text only", async () => {
    const { views, staticPage } = await rendered();
    views[0].dispatchEvent(new MouseEvent("click"));
    const selected = views.map((view) => view.querySelector('[data-testid="selected"]')?.textContent);
    expect(selected).toEqual(["2", "2", "-1"]);
    expect(staticPage.models.get("b")?.get("selected_token")).toBe(2);
  });

  it("says in its place that a widget could not be drawn, and draws the others", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const state = page();
    state.models.b.module = "missing";
    const { views, container } = await rendered(state);
    expect(views[1].textContent).toBe("AnyModel could not be drawn: no module missing");
    expect(views[2].firstChild?.textContent).toBe("other text");
    expect(error).toHaveBeenCalledOnce();
    expect(container.textContent).toContain("same text");
  });

  it("looks view modules up by file name", async () => {
    const { default: attention } = await loadView("attention");
    expect(typeof (attention as { render?: unknown }).render).toBe("function");
  });
});
