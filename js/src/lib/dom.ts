// Small DOM helpers. Text always goes in through textContent: model strings are never parsed as HTML.

export interface ElementOptions {
  testid?: string;
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.testid) node.dataset.testid = options.testid;
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Mark a view as drawn: `data-ready="true"` and `data-version` one higher than before. */
export function markDrawn(node: HTMLElement): void {
  node.dataset.ready = "true";
  node.dataset.version = String(Number(node.dataset.version ?? "0") + 1);
}
