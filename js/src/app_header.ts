// The app's heading (src/deepseek_viz/app/header.py): the product and the model's name and one-line
// info, a collapsible help on the panels and gestures, and export buttons whose files come from the
// kernel as one buffer and reach the visitor as a download (works in Voila: no server file path).

import type { RenderProps } from "@anywidget/types";
import { CommandErrorLine, invoke } from "./lib/commands";
import { element, markDrawn } from "./lib/dom";

/** Mirrors the synced traits of AppHeader. */
export interface AppHeaderModel {
  product: string;
  model_name: string;
  model_info: string;
  /** [key, label] of each figure that can be exported. */
  figures: [string, string][];
  has_generation: boolean;
}

/** The `_export` command's reply (its one buffer holds the file). */
interface ExportReply {
  name: string;
  mime: string;
  size: number;
}

// Colours from JupyterLab's theme variables (Voila's ?theme=dark sets them too); fallbacks for light.
const STYLES = `
.dsv-app-header { color: var(--jp-ui-font-color1, #1f1f1f); font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 13px; display: flex; flex-direction: column; gap: 6px; padding: 2px 0 10px;
  border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-app-title { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; }
.dsv-app-title h1 { font-size: 20px; line-height: 1.2; margin: 0; color: var(--jp-ui-font-color0, #000); }
.dsv-app-model-name { font-size: 15px; font-weight: 600; color: var(--jp-ui-font-color0, #000); word-break: break-all; }
.dsv-app-model-info { color: var(--jp-ui-font-color1, #1f1f1f); }
.dsv-app-help summary { cursor: pointer; font-weight: 600; width: max-content; }
.dsv-app-help ul { margin: 4px 0 0; padding-left: 20px; line-height: 1.5; }
.dsv-app-help-lead { font-weight: 600; color: var(--jp-ui-font-color0, #000); }
.dsv-app-export { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.dsv-app-export button, .dsv-app-export select { font: inherit; color: var(--jp-ui-font-color1, #1f1f1f);
  background: var(--jp-layout-color2, #eeeeee); border: 1px solid var(--jp-border-color1, #bdbdbd); border-radius: 3px; padding: 2px 8px; }
.dsv-app-export button:disabled { opacity: 0.6; cursor: progress; }
.dsv-app-export button:focus-visible, .dsv-app-export select:focus-visible, .dsv-app-help summary:focus-visible {
  outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.dsv-app-export-status { color: var(--jp-ui-font-color1, #1f1f1f); }
.dsv-app-header .dsv-command-error { color: var(--jp-error-color1, #b71c1c); }
`;

/** What each panel shows and the gestures, one item each: [bold lead, rest]. */
export function helpItems(hasGeneration: boolean): [string, string][] {
  const items: [string, string][] = [
    ["Text box:", " type or paste a text; every panel follows it (one forward pass per edit)."],
    ["Attention:", " the grid has one cell per layer × head; click a head to show its pattern, shift-click to add heads (their mean), alt-click to turn a head off. Click a token to see what it attends to."],
    ["MoE expert routing:", " which experts each token was sent to, with the router's weights; alt-click an expert to turn it off."],
    ["Next-token predictions and logit lens:", " the model's top guesses after the selected token, and what each layer would predict."],
    ["Token attributions:", " how much each token raised or lowered the prediction; the button runs the slower methods (integrated gradients, SHAP, LIME)."],
    ["Embedding map:", " where the text lands among sample texts; click a point to load its text."],
    ["Export:", " the offline page is every panel as it is now, in one HTML file; PNG/SVG draw one panel's figure."],
  ];
  if (hasGeneration) items.splice(1, 0, ["Generate:", " the model writes from the text; the panels follow its text when it stops."]);
  return items;
}

/** "1.2 MB", "820 KB", "512 B". */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} KB`;
  return `${bytes} B`;
}

/** Hand `data` to the visitor as the file `name` (a Blob link, clicked). */
function download(data: DataView, name: string, mime: string): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const link = element("a", { attrs: { href: url, download: name } });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function render({ model, el, experimental, signal }: RenderProps<AppHeaderModel>): () => void {
  const name = element("span", { testid: "app-model-name", className: "dsv-app-model-name" });
  const info = element("span", { testid: "app-model-info", className: "dsv-app-model-info" });
  const title = element(
    "div",
    { className: "dsv-app-title" },
    element("h1", { testid: "app-title", text: model.get("product") }),
    name,
    info,
  );
  const help = element(
    "details",
    { testid: "app-help", className: "dsv-app-help" },
    element("summary", { text: "How to read this page" }),
    element(
      "ul",
      {},
      ...helpItems(model.get("has_generation")).map(([lead, rest]) => element("li", {}, element("span", { className: "dsv-app-help-lead", text: lead }), document.createTextNode(rest))),
    ),
  );
  const html = element("button", { testid: "export-html", text: "save offline page (HTML)", attrs: { type: "button" } });
  const figure = element("select", { testid: "export-figure", attrs: { "aria-label": "figure to export" } });
  const png = element("button", { testid: "export-png", text: "PNG", attrs: { type: "button", title: "the chosen figure as a PNG image" } });
  const svg = element("button", { testid: "export-svg", text: "SVG", attrs: { type: "button", title: "the chosen figure as an SVG image" } });
  const status = element("span", { testid: "export-status", className: "dsv-app-export-status", attrs: { "aria-live": "polite" } });
  const errorLine = new CommandErrorLine("export-error");
  const exportRow = element(
    "div",
    { className: "dsv-app-export" },
    element("span", { text: "Export:" }),
    html,
    element("span", { text: "figure" }),
    figure,
    png,
    svg,
    status,
    errorLine.root,
  );
  const root = element("header", { testid: "app-header", className: "dsv-app-header" }, element("style", { text: STYLES }), title, help, exportRow);
  const buttons = [html, png, svg];

  function show(): void {
    name.textContent = model.get("model_name");
    info.textContent = model.get("model_info");
    figure.replaceChildren(...model.get("figures").map(([key, label]) => element("option", { text: label, attrs: { value: key } })));
    markDrawn(root);
  }

  async function exportFile(kind: "html" | "png" | "svg"): Promise<void> {
    for (const button of buttons) button.disabled = true;
    errorLine.clear();
    status.textContent = kind === "html" ? "writing the offline page…" : `drawing the ${kind.toUpperCase()}…`;
    try {
      const [reply, buffers] = await invoke<ExportReply>(experimental, "_export", { kind, figure: figure.value }, signal);
      download(buffers[0], reply.name, reply.mime);
      status.textContent = `saved ${reply.name} (${sizeLabel(reply.size)})`;
    } catch (error) {
      if (signal.aborted) return;
      status.textContent = "";
      errorLine.show(error);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  const handlers: [HTMLButtonElement, "html" | "png" | "svg"][] = [
    [html, "html"],
    [png, "png"],
    [svg, "svg"],
  ];
  const listeners = handlers.map(([button, kind]) => {
    const listener = (): void => void exportFile(kind);
    button.addEventListener("click", listener);
    return [button, listener] as const;
  });
  model.on("change:model_info", show);
  model.on("change:figures", show);
  el.replaceChildren(root);
  show();

  return () => {
    for (const [button, listener] of listeners) button.removeEventListener("click", listener);
    model.off("change:model_info", show);
    model.off("change:figures", show);
    root.remove();
  };
}

export default { render };
