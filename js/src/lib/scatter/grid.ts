// Hit-testing many points: a uniform grid over the plane with the points bucketed by cell (a counting
// sort), so the nearest point to the cursor is found by looking at a few cells, not at every point.

export class SpatialGrid {
  private readonly x0: number;
  private readonly y0: number;
  private readonly cell: number;
  private readonly cols: number;
  private readonly rows: number;
  /** Points of cell c are order[start[c]] … order[start[c + 1] - 1]. */
  private readonly start: Int32Array;
  private readonly order: Int32Array;

  /** Bucket the interleaved x, y pairs of `xy`, about `perCell` points to a cell on average. */
  constructor(
    private readonly xy: Float32Array,
    perCell = 4,
  ) {
    const n = Math.floor(xy.length / 2);
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, xy[2 * i]);
      x1 = Math.max(x1, xy[2 * i]);
      y0 = Math.min(y0, xy[2 * i + 1]);
      y1 = Math.max(y1, xy[2 * i + 1]);
    }
    if (n === 0) [x0, x1, y0, y1] = [0, 1, 0, 1];
    const width = Math.max(x1 - x0, 1e-12);
    const height = Math.max(y1 - y0, 1e-12);
    const cells = Math.max(1, n / perCell);
    // square cells of the same total count; a flat cloud (zero height) gets a row of cells
    this.cell = Math.max(Math.sqrt((width * height) / cells), Math.max(width, height) / cells, 1e-12);
    this.x0 = x0;
    this.y0 = y0;
    this.cols = Math.min(4096, Math.floor(width / this.cell) + 1);
    this.rows = Math.min(4096, Math.floor(height / this.cell) + 1);
    const count = this.cols * this.rows;
    const cellOf = new Int32Array(n);
    this.start = new Int32Array(count + 1);
    for (let i = 0; i < n; i++) {
      cellOf[i] = this.cellIndex(xy[2 * i], xy[2 * i + 1]);
      this.start[cellOf[i] + 1]++;
    }
    for (let c = 0; c < count; c++) this.start[c + 1] += this.start[c];
    const fill = this.start.slice(0, count);
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[fill[cellOf[i]]++] = i;
  }

  private column(x: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.x0) / this.cell)));
  }

  private row(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.y0) / this.cell)));
  }

  private cellIndex(x: number, y: number): number {
    return this.row(y) * this.cols + this.column(x);
  }

  /** The point nearest (x, y) within `radius` (plane units), or -1. Of equally near points the one with
   * the larger index wins: it is drawn on top. */
  nearest(x: number, y: number, radius: number): number {
    let best = -1;
    let bestDistance = radius * radius;
    const [c0, c1] = [this.column(x - radius), this.column(x + radius)];
    const [r0, r1] = [this.row(y - radius), this.row(y + radius)];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        for (let k = this.start[cell]; k < this.start[cell + 1]; k++) {
          const i = this.order[k];
          const dx = this.xy[2 * i] - x;
          const dy = this.xy[2 * i + 1] - y;
          const distance = dx * dx + dy * dy;
          if (distance < bestDistance || (distance === bestDistance && i > best)) {
            best = i;
            bestDistance = distance;
          }
        }
      }
    }
    return best;
  }
}
