// Layer × head selector: one thumbnail canvas per head (data-testid head-L-H), a "mean" button per layer.

import type { QuantisedArray } from "./buffers";
import { colourTable } from "./colour";
import { element, markDrawn } from "./dom";
import { clickSelection, keySelection, meanOfLayer, type Selection } from "./selection";

export class HeadGrid {
  readonly root: HTMLElement;
  private cells: HTMLCanvasElement[][] = [];
  private selection: Selection = { layer: 0, heads: [0] };
  private readonly table = colourTable();

  constructor(private readonly select: (selection: Selection) => void) {
    this.root = element("div", {
      testid: "head-grid",
      className: "dsv-grid",
      attrs: { tabindex: "0", role: "grid", "aria-label": "attention heads: click, shift-click or arrow keys" },
    });
    this.root.addEventListener("click", this.onClick);
    this.root.addEventListener("keydown", this.onKey);
  }

  private get numLayers(): number {
    return this.cells.length;
  }

  private get numHeads(): number {
    return this.cells[0]?.length ?? 0;
  }

  private onClick = (event: MouseEvent): void => {
    const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-layer]") : null;
    if (!target) return;
    const layer = Number(target.dataset.layer);
    if (target.dataset.head === undefined) this.select(meanOfLayer(layer, this.numHeads));
    else this.select(clickSelection(this.selection, layer, Number(target.dataset.head), event.shiftKey));
  };

  private onKey = (event: KeyboardEvent): void => {
    const next = keySelection(this.selection, event.key, this.numLayers, this.numHeads);
    if (!next) return;
    event.preventDefault();
    this.select(next);
  };

  /** Build the grid for a model of `numLayers` × `numHeads` (no-op when unchanged). */
  setShape(numLayers: number, numHeads: number): void {
    if (numLayers === this.numLayers && numHeads === this.numHeads) return;
    this.cells = [];
    const rows = Array.from({ length: numLayers }, (_, layer) => {
      const mean = element("button", {
        testid: `layer-mean-${layer}`,
        className: "dsv-mean",
        text: `L${layer} mean`,
        attrs: { "data-layer": String(layer), title: `mean of all heads of layer ${layer}`, type: "button" },
      });
      const cells = Array.from({ length: numHeads }, (_, head) =>
        element("canvas", {
          testid: `head-${layer}-${head}`,
          className: "dsv-cell",
          attrs: { "data-layer": String(layer), "data-head": String(head), title: `layer ${layer}, head ${head}`, role: "gridcell" },
        }),
      );
      this.cells.push(cells);
      return element("div", { className: "dsv-grid-row" }, mean, ...cells);
    });
    this.root.replaceChildren(...rows);
    this.setSelection(this.selection);
  }

  /** Draw `[layer, head, bins, bins]` thumbnails (each already scaled to its max); null blanks them. */
  setThumbnails(thumbnails: QuantisedArray | null): void {
    const [, , bins = 0] = thumbnails?.shape ?? [];
    this.cells.forEach((row, layer) =>
      row.forEach((canvas, head) => {
        canvas.width = Math.max(1, bins);
        canvas.height = Math.max(1, bins);
        const context = canvas.getContext("2d");
        if (!context) return;
        if (!thumbnails || bins === 0) {
          context.clearRect(0, 0, canvas.width, canvas.height);
          return;
        }
        const image = context.createImageData(bins, bins);
        const offset = (layer * row.length + head) * bins * bins;
        for (let i = 0; i < bins * bins; i++) {
          image.data.set(this.table.subarray(thumbnails.bytes[offset + i] * 4, thumbnails.bytes[offset + i] * 4 + 4), i * 4);
        }
        context.putImageData(image, 0, 0);
      }),
    );
    markDrawn(this.root);
  }

  /** Outline the selected cells. */
  setSelection(selection: Selection): void {
    this.selection = selection;
    this.cells.forEach((row, layer) =>
      row.forEach((cell, head) => {
        const on = layer === selection.layer && selection.heads.includes(head);
        cell.classList.toggle("dsv-on", on);
        cell.setAttribute("aria-selected", String(on));
      }),
    );
  }

  destroy(): void {
    this.root.removeEventListener("click", this.onClick);
    this.root.removeEventListener("keydown", this.onKey);
  }
}
