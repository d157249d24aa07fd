// SweepView (src/deepseek_viz/widgets/sweep_view.py): a head or patching sweep as a clickable layer ×
// head / layer × position heatmap. The cells are one canvas; row and column labels (the tokens) are DOM
// text; a click sets `selected_layer` and `selected_head` / `selected_token` in the kernel.

import type { RenderProps } from "@anywidget/types";
import { legendGradient } from "./lib/attribution/scale";
import { cssDifference } from "./lib/compare/colours";
import { onThemeChange, themeOf } from "./lib/theme";
import { decodeFloats, type ArrayValue } from "./lib/buffers";
import { element, markDrawn } from "./lib/dom";
import { gridCursor } from "./lib/grid_cursor";
import { listen } from "./lib/model";
import { renderStatus, type Status } from "./lib/status";
import { STYLES } from "./lib/styles";
import {
  cellAt,
  cellLayout,
  columnLabel,
  labelStep,
  scaleEnd,
  scalePosition,
  tooltipText,
  type CellLayout,
  type SweepColumns,
  type SweepScale,
} from "./lib/sweep/scale";
import { SWEEP_STYLES } from "./lib/sweep/styles";

/** Mirrors the synced traits of SweepView. */
export interface SweepModel {
  selected_layer: number;
  selected_head: number;
  selected_token: number;
  columns: SweepColumns;
  status: Status;
  /** float32 `[layer, column]`: what the colours show. */
  _values: ArrayValue;
  /** float32 `[layer, column]`: the target's value then. */
  _targets: ArrayValue;
  _column_labels: string[];
  _scale: SweepScale;
  _caption: string;
  _data_id: number;
}

/** The root element, with the hook browser tests use to find a cell. */
export interface SweepRoot extends HTMLDivElement {
  /** Scroll cell `[layer, column]` into view; its centre in client coordinates. */
  cellCentre(layer: number, column: number): { x: number; y: number } | null;
}

const COLUMN_LABELS_HEIGHT = 80;

function render({ model, el }: RenderProps<SweepModel>): () => void {
  const caption = element("div", { testid: "sweep-caption", className: "dsv-caption" });
  const status = element("div", { testid: "status", className: "dsv-status" });
  const canvas = element("canvas", { testid: "sweep-heatmap", className: "dsv-sweep-canvas" });
  const selected = element("div", { testid: "sweep-selected", className: "dsv-sweep-mark dsv-on" });
  const hovered = element("div", { testid: "sweep-hover", className: "dsv-sweep-mark dsv-hover" });
  const cells = element("div", { className: "dsv-sweep-cells" }, canvas, selected, hovered);
  const columnsBox = element("div", { testid: "sweep-columns", className: "dsv-sweep-columns" });
  const rowsBox = element("div", { testid: "sweep-rows", className: "dsv-sweep-rows" });
  const corner = element("div", { className: "dsv-sweep-corner", text: "layer" });
  const grid = element("div", { className: "dsv-sweep-grid" }, corner, columnsBox, rowsBox, cells);
  const scroll = element("div", { testid: "sweep-scroll", className: "dsv-sweep-scroll" }, grid);
  const tooltip = element("div", { testid: "sweep-tooltip", className: "dsv-tooltip" });
  tooltip.hidden = true;
  const bar = element("div", { className: "dsv-legend-bar" });
  bar.style.background = legendGradient();
  const low = element("span");
  const high = element("span");
  const legend = element("div", { testid: "sweep-legend", className: "dsv-sweep-legend" }, low, bar, high);
  const top = element("div", { className: "dsv-top" }, caption, status);
  const root = element(
    "div",
    { testid: "sweep-view", className: "dsv-root dsv-sweep" },
    element("style", { text: STYLES + SWEEP_STYLES }),
    top,
    scroll,
    legend,
    tooltip,
  ) as SweepRoot;
  root.style.position = "relative";

  let layout: CellLayout = cellLayout(0, 0);
  let values: Float32Array | null = null;
  let targets: Float32Array | null = null;

  function place(mark: HTMLElement, cell: [number, number] | null): void {
    mark.hidden = cell === null;
    if (!cell) return;
    mark.style.left = `${cell[1] * layout.width}px`;
    mark.style.top = `${cell[0] * layout.height}px`;
    mark.style.width = `${layout.width}px`;
    mark.style.height = `${layout.height}px`;
  }

  function selection(): [number, number] | null {
    const layer = model.get("selected_layer");
    const column = model.get("columns") === "head" ? model.get("selected_head") : model.get("selected_token");
    return layer >= 0 && column >= 0 && layer < layout.rows && column < layout.columns ? [layer, column] : null;
  }

  function showSelection(): void {
    const cell = selection();
    place(selected, cell);
    selected.dataset.cell = cell ? `${cell[0]}-${cell[1]}` : "";
  }

  function labels(): void {
    const columns = model.get("columns");
    const names = model.get("_column_labels");
    const step = labelStep(layout.width);
    const columnNodes: HTMLElement[] = [];
    for (let c = 0; c < layout.columns; c += step) {
      const node = element("div", { testid: `sweep-column-${c}`, className: "dsv-sweep-column", text: columnLabel(names[c] ?? "", columns) });
      node.style.left = `${c * layout.width}px`;
      node.style.width = `${layout.width}px`;
      columnNodes.push(node);
    }
    columnsBox.replaceChildren(...columnNodes);
    columnsBox.style.width = `${layout.columns * layout.width}px`;
    columnsBox.style.height = `${COLUMN_LABELS_HEIGHT}px`;
    const rowStep = labelStep(layout.height, 11);
    const rowNodes: HTMLElement[] = [];
    for (let r = 0; r < layout.rows; r += rowStep) {
      const node = element("div", { testid: `sweep-row-${r}`, className: "dsv-sweep-row", text: String(r) });
      node.style.top = `${r * layout.height}px`;
      node.style.lineHeight = `${layout.height}px`;
      rowNodes.push(node);
    }
    rowsBox.replaceChildren(...rowNodes);
    rowsBox.style.position = "sticky";
    rowsBox.style.width = "3.5em";
    rowsBox.style.height = `${layout.rows * layout.height}px`;
    corner.textContent = columns === "head" ? "layer \\ head" : "layer \\ token";
  }

  function draw(): void {
    const wire = model.get("_values");
    values = decodeFloats(wire);
    targets = decodeFloats(model.get("_targets"));
    const [rows, columns] = wire && values ? wire.shape : [0, 0];
    layout = cellLayout(rows, columns);
    const scale = model.get("_scale");
    const end = values ? scaleEnd(values, scale) : 1;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, layout.columns * layout.width * ratio);
    canvas.height = Math.max(1, layout.rows * layout.height * ratio);
    canvas.style.width = `${layout.columns * layout.width}px`;
    canvas.style.height = `${layout.rows * layout.height}px`;
    const dark = themeOf(root).dark;
    bar.style.background = legendGradient(9, (t) => cssDifference(t, dark));
    root.dataset.theme = dark ? "dark" : "light";
    const context = canvas.getContext("2d");
    if (context && values) {
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.clearRect(0, 0, layout.columns * layout.width, layout.rows * layout.height);
      const gap = layout.width >= 8 && layout.height >= 8 ? 1 : 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          context.fillStyle = cssDifference(scalePosition(values[r * columns + c], end), dark);
          context.fillRect(c * layout.width, r * layout.height, layout.width - gap, layout.height - gap);
        }
      }
    }
    const unit = scale === "recovered" ? "recovered" : "change";
    low.textContent = `−${String(Number(end.toPrecision(3)))} ${scale === "recovered" ? "" : "lowers the target"}`.trim();
    high.textContent = `+${String(Number(end.toPrecision(3)))} ${scale === "recovered" ? "(1: the clean run restored)" : "raises it"} · ${unit}`;
    caption.textContent = model.get("_caption");
    labels();
    showSelection();
    place(hovered, null);
    tooltip.hidden = true;
    markDrawn(root);
  }

  function cellOf(event: MouseEvent): [number, number] | null {
    const box = canvas.getBoundingClientRect();
    return cellAt(layout, event.clientX - box.left, event.clientY - box.top);
  }

  function onMove(event: MouseEvent): void {
    const cell = cellOf(event);
    place(hovered, cell);
    if (!cell || !values || !targets) {
      tooltip.hidden = true;
      return;
    }
    const [row, column] = cell;
    const index = row * layout.columns + column;
    tooltip.textContent = tooltipText(
      row, column, model.get("columns"), model.get("_column_labels")[column] ?? "", values[index], targets[index], model.get("_scale"),
    );
    tooltip.hidden = false;
    const box = root.getBoundingClientRect();
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
  }

  function onLeave(): void {
    place(hovered, null);
    tooltip.hidden = true;
  }

  function onClick(event: MouseEvent): void {
    const cell = cellOf(event);
    if (!cell) return;
    const current = selection();
    const same = current !== null && current[0] === cell[0] && current[1] === cell[1];
    const columnTrait = model.get("columns") === "head" ? "selected_head" : "selected_token";
    model.set("selected_layer", same ? -1 : cell[0]);
    model.set(columnTrait, same ? -1 : cell[1]);
    model.save_changes();
    showSelection();
  }

  root.cellCentre = (layer: number, column: number) => {
    if (layer < 0 || column < 0 || layer >= layout.rows || column >= layout.columns) return null;
    const x = column * layout.width + layout.width / 2;
    const y = layer * layout.height + layout.height / 2;
    const box = canvas.getBoundingClientRect();
    const view = scroll.getBoundingClientRect();
    if (box.left + x < view.left || box.left + x > view.right) scroll.scrollLeft += box.left + x - (view.left + view.right) / 2;
    if (box.top + y < view.top || box.top + y > view.bottom) scroll.scrollTop += box.top + y - (view.top + view.bottom) / 2;
    const moved = canvas.getBoundingClientRect();
    return { x: moved.left + x, y: moved.top + y };
  };

  canvas.addEventListener("mousemove", onMove);
  canvas.addEventListener("mouseleave", onLeave);
  canvas.addEventListener("click", onClick);
  canvas.setAttribute("aria-label", "sweep heatmap: rows are layers, columns heads or tokens");
  const unkey = gridCursor(canvas, { shape: () => [layout.rows, layout.columns] });
  const showStatus = (): void => renderStatus(status, model.get("status"));
  el.replaceChildren(root);
  const unlisten = listen(model, [
    ["change:_data_id", draw],
    ["change:selected_layer", showSelection],
    ["change:selected_head", showSelection],
    ["change:selected_token", showSelection],
    ["change:status", showStatus],
  ]);
  draw();
  showStatus();
  const unwatchTheme = onThemeChange(draw);

  return () => {
    unlisten();
    unwatchTheme();
    unkey();
    canvas.removeEventListener("mousemove", onMove);
    canvas.removeEventListener("mouseleave", onLeave);
    canvas.removeEventListener("click", onClick);
    root.remove();
  };
}

export default { render };
