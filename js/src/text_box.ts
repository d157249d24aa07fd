// The Dashboard's text box (src/deepseek_viz/widgets/dashboard.py): the one editor whose edits drive
// every view of the dashboard, its status line, and a character count against the app's limit.

import type { RenderProps } from "@anywidget/types";
import { element, markDrawn } from "./lib/dom";
import { LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen } from "./lib/model";

/** Mirrors the synced traits of TextBox. */
export interface TextBoxModel extends LiveTextModel {
  /** Longest text accepted (0: no limit). */
  max_chars: number;
  /** The model traced, e.g. "bundled (deepseek_v3, 4 layers, 6 heads)". */
  model_name: string;
  /** Shown in the empty box. */
  placeholder: string;
}

const STYLES = `
.dsv-textbox-info { display: flex; gap: 12px; color: var(--jp-ui-font-color1, #444); font-size: 12px; }
.dsv-textbox-info .dsv-over { color: var(--jp-error-color1, #b71c1c); font-weight: 600; }
`;

/** "1,234 characters" or "1,234 / 2,000 characters". */
export function countLabel(length: number, max: number): string {
  const count = length.toLocaleString("en-US");
  return max > 0 ? `${count} / ${max.toLocaleString("en-US")} characters` : `${count} characters`;
}

function render({ model, el, experimental, signal }: RenderProps<TextBoxModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  const name = element("span", { testid: "model-name" });
  const count = element("span", { testid: "char-count" });
  const root = liveRoot("text-box", editor, STYLES, element("div", { className: "dsv-textbox-info" }, name, count));

  function showCount(): void {
    const max = model.get("max_chars");
    const length = editor.input.value.length;
    count.textContent = countLabel(length, max);
    count.classList.toggle("dsv-over", max > 0 && length > max);
  }

  function onAnswer(): void {
    name.textContent = model.get("model_name");
    editor.input.placeholder = model.get("placeholder");
    showCount();
    markDrawn(root);
  }

  editor.input.addEventListener("input", showCount);
  const unlisten = listen(model, [
    ["change:_seq", onAnswer],
    ["change:status", onAnswer],
    ["change:text", onAnswer],
    ["change:max_chars", showCount],
  ]);
  el.replaceChildren(root);
  editor.showStatus();
  onAnswer();

  return () => {
    unlisten();
    editor.destroy();
    editor.input.removeEventListener("input", showCount);
    root.remove();
  };
}

export default { render };
