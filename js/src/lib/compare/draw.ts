// Canvas drawing of the Compare view: a [rows, cols] grid of cells, one canvas pixel per cell (scaled
// up by CSS, pixelated), and the cell under a pointer.

import type { Rgb } from "../colour";

/** Paint `rows × cols` cells on `canvas`, cell `i` (row-major) in `colourOf(i)`. */
export function paintCells(canvas: HTMLCanvasElement, rows: number, cols: number, colourOf: (index: number) => Rgb): void {
  canvas.width = Math.max(1, cols);
  canvas.height = Math.max(1, rows);
  const context = canvas.getContext("2d");
  if (!context || rows === 0 || cols === 0) return;
  const image = context.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = colourOf(i);
    image.data.set([r, g, b, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

/** The `[row, col]` cell of a `rows × cols` grid under client point (`x`, `y`) on `canvas`, or null. */
export function cellUnder(canvas: HTMLCanvasElement, rows: number, cols: number, x: number, y: number): [number, number] | null {
  const box = canvas.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return null;
  const col = Math.floor(((x - box.left) / box.width) * cols);
  const row = Math.floor(((y - box.top) / box.height) * rows);
  return row >= 0 && row < rows && col >= 0 && col < cols ? [row, col] : null;
}
