// The keyboard's way into a canvas of cells (a heatmap, a lens, a sweep): the canvas takes focus, the
// arrow keys move a cursor cell, and the view's own pointer code answers it — the cursor is shown by a
// mousemove at the cell's centre (tooltip, hover mark) and Enter/Space are a click there; the panels
// holding the canvas scroll to keep the cursor cell in sight. So a view
// gains the keyboard without a second copy of what hovering and clicking do.

/** Where the cells are: `shape()` rows × columns; `centre(row, column)` the cell's centre in the
 * canvas's CSS pixels (default: an even grid over the canvas's client box). */
export interface GridCursorOptions {
  shape(): [number, number];
  centre?(row: number, column: number): [number, number];
}

/** The cursor's new cell after `key` ([row, column]), or null when the key is not a move. */
export function moveCursor(key: string, at: [number, number], rows: number, columns: number, page = 10): [number, number] | null {
  const [row, column] = at;
  const clamp = (r: number, c: number): [number, number] => [Math.max(0, Math.min(rows - 1, r)), Math.max(0, Math.min(columns - 1, c))];
  switch (key) {
    case "ArrowUp": return clamp(row - 1, column);
    case "ArrowDown": return clamp(row + 1, column);
    case "ArrowLeft": return clamp(row, column - 1);
    case "ArrowRight": return clamp(row, column + 1);
    case "PageUp": return clamp(row - page, column);
    case "PageDown": return clamp(row + page, column);
    case "Home": return clamp(row, 0);
    case "End": return clamp(row, columns - 1);
    default: return null;
  }
}

/** Scroll the panels holding `node` so that the client point (x, y) is inside each of them. */
function reveal(node: HTMLElement, x: number, y: number): void {
  for (let at = node.parentElement; at; at = at.parentElement) {
    const style = getComputedStyle(at);
    if (style.overflowX === "visible" && style.overflowY === "visible") continue;
    const box = at.getBoundingClientRect();
    const margin = 8;
    if (x < box.left + margin || x > box.right - margin) at.scrollLeft += x - (box.left + box.right) / 2;
    if (y < box.top + margin || y > box.bottom - margin) at.scrollTop += y - (box.top + box.bottom) / 2;
  }
}

/** Make `canvas` focusable and drive it from the keyboard; returns the function that undoes it. */
export function gridCursor(canvas: HTMLElement, options: GridCursorOptions): () => void {
  let at: [number, number] | null = null;
  canvas.tabIndex = 0;
  canvas.dataset.lmSuppressShortcuts = "true"; // JupyterLab's notebook leaves the arrow keys to us
  const hint = "arrow keys move between cells, Enter or Space picks one";
  const label = canvas.getAttribute("aria-label");
  canvas.setAttribute("aria-label", label ? `${label}; ${hint}` : hint);

  const client = (row: number, column: number): [number, number] => {
    const box = canvas.getBoundingClientRect();
    const [rows, columns] = options.shape();
    const [x, y] = options.centre?.(row, column) ?? [((column + 0.5) * box.width) / columns, ((row + 0.5) * box.height) / rows];
    return [box.left + x, box.top + y];
  };
  const fire = (type: string, row: number, column: number): void => {
    const [x, y] = client(row, column);
    reveal(canvas, x, y);
    const [clientX, clientY] = client(row, column); // where the cell is now
    canvas.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX, clientY }));
  };
  const onKey = (event: KeyboardEvent): void => {
    const [rows, columns] = options.shape();
    if (rows <= 0 || columns <= 0) return;
    if (event.key === "Escape") {
      at = null;
      canvas.dispatchEvent(new MouseEvent("mouseleave"));
      return;
    }
    if ((event.key === "Enter" || event.key === " ") && at) {
      event.preventDefault();
      fire("click", ...at);
      return;
    }
    const next = moveCursor(event.key, at ?? [0, 0], rows, columns);
    if (!next) return;
    event.preventDefault();
    at = at ? next : [0, 0];
    fire("mousemove", ...at);
  };
  const onBlur = (): void => {
    if (at) canvas.dispatchEvent(new MouseEvent("mouseleave"));
    at = null;
  };
  canvas.addEventListener("keydown", onKey);
  canvas.addEventListener("blur", onBlur);
  return () => {
    canvas.removeEventListener("keydown", onKey);
    canvas.removeEventListener("blur", onBlur);
  };
}

