import { describe, expect, it } from "vitest";
import {
  allOnScreen,
  axisDirections,
  centre3,
  clipTransform,
  extentOf,
  fitCamera,
  MAX_ZOOM,
  orbitBy,
  orbitToPlane,
  panCamera,
  rotation,
  toPlane,
  toScreen,
  zoomCamera,
} from "../src/lib/scatter/camera";
import { SpatialGrid } from "../src/lib/scatter/grid";
import { listedText, summarise } from "../src/lib/scatter/panel";
import { DIMMED_ALPHA, parseColour, pointColours } from "../src/lib/scatter/palette";
import type { DType, WireArray } from "../src/lib/buffers";
import { decodePoints } from "../src/lib/scatter/points";
import { isSoftwareRenderer, opaqueOver, opaqueOverWhite } from "../src/lib/scatter/renderer";
import { boxFrom, insidePolygon, selectInBox, selectInPolygon, selectionMask } from "../src/lib/scatter/select";

/** A DataView of `bytes` at `offset` inside a larger buffer, as message buffers often are. */
function viewAt(bytes: Uint8Array, offset: number): DataView {
  const backing = new Uint8Array(offset + bytes.length + 5).fill(0xee);
  backing.set(bytes, offset);
  return new DataView(backing.buffer, offset, bytes.length);
}

/** Deterministic pseudo-random points in [0, 100)². */
function randomPoints(n: number, seed = 7): Float32Array {
  let state = seed;
  const next = (): number => (state = (state * 16807) % 2147483647) / 2147483647;
  return Float32Array.from({ length: 2 * n }, () => next() * 100);
}

function bruteNearest(xy: Float32Array, x: number, y: number, radius: number): number {
  let best = -1;
  let bestDistance = radius * radius;
  for (let i = 0; i < xy.length / 2; i++) {
    const d = (xy[2 * i] - x) ** 2 + (xy[2 * i + 1] - y) ** 2;
    if (d < bestDistance || (d === bestDistance && i > best)) [best, bestDistance] = [i, d];
  }
  return best;
}

describe("decodePoints", () => {
  const coords = new Float32Array([1.5, -2, 3.25, 4, -0.5, 1e-3]);
  const labels = new Uint8Array([0, 2, 1]);
  const at = (dtype: DType, shape: number[], bytes: Uint8Array, offset = 0, scale = 1): WireArray => ({ dtype, shape, scale, buffer: viewAt(bytes, offset) });
  const coordBytes = new Uint8Array(coords.buffer);

  it("reads float32 coordinates and label bytes at any byte offset", () => {
    const data = decodePoints(at("float32", [3, 2], coordBytes, 3), at("uint8", [3], labels, 1, 255));
    expect(data?.n).toBe(3);
    expect(data?.dims).toBe(2);
    expect(Array.from(data?.coords ?? [])).toEqual(Array.from(coords));
    expect(Array.from(data?.labels ?? [])).toEqual([0, 2, 1]);
  });

  it("reads 3-D points", () => {
    const data = decodePoints(at("float32", [2, 3], coordBytes), at("uint8", [2], labels.subarray(0, 2), 0, 255));
    expect(data?.dims).toBe(3);
    expect(data?.coords[5]).toBeCloseTo(1e-3);
  });

  it("returns null before data arrives and rejects inconsistent arrays", () => {
    expect(decodePoints(null, null)).toBeNull();
    const labelArray = at("uint8", [3], labels, 0, 255);
    expect(() => decodePoints(at("float16", [3, 2], coordBytes.subarray(0, 12)), labelArray)).toThrow(TypeError);
    expect(() => decodePoints(at("float32", [6, 1], coordBytes), labelArray)).toThrow(TypeError);
    expect(() => decodePoints(at("float32", [3, 2], coordBytes), at("uint8", [2], labels.subarray(0, 2)))).toThrow(RangeError);
    expect(() => decodePoints(at("float32", [4, 2], coordBytes), at("uint8", [4], new Uint8Array(4)))).toThrow(RangeError);
  });
});

describe("camera", () => {
  const extent = { x0: -10, x1: 10, y0: 0, y1: 5 };

  it("fits all points with a margin, centred", () => {
    const camera = fitCamera(extent, 400, 200, 0.1);
    expect(camera).toEqual({ cx: 0, cy: 2.5, scale: 16 }); // 400 * 0.8 / 20
    expect(toScreen(camera, -10, 2.5, 400, 200)).toEqual([40, 100]);
    expect(toScreen(camera, 0, 5, 400, 200)).toEqual([200, 60]); // y up on screen
  });

  it("maps screen to plane and back", () => {
    const camera = { cx: 3, cy: -1, scale: 7.5 };
    const [x, y] = toPlane(camera, 123, 45, 300, 200);
    const [px, py] = toScreen(camera, x, y, 300, 200);
    expect(px).toBeCloseTo(123);
    expect(py).toBeCloseTo(45);
  });

  it("pans with the pointer: the point under it follows the drag", () => {
    const camera = { cx: 0, cy: 0, scale: 10 };
    const before = toPlane(camera, 50, 50, 200, 200);
    const moved = panCamera(camera, 30, -20);
    const [px, py] = toScreen(moved, before[0], before[1], 200, 200);
    expect(px).toBeCloseTo(80);
    expect(py).toBeCloseTo(30);
  });

  it("zooms about the pointer and stays within limits", () => {
    const camera = { cx: 0, cy: 0, scale: 10 };
    const under = toPlane(camera, 30, 170, 200, 200);
    const zoomed = zoomCamera(camera, 2, 30, 170, 200, 200, 10);
    expect(zoomed.scale).toBe(20);
    const [px, py] = toScreen(zoomed, under[0], under[1], 200, 200);
    expect(px).toBeCloseTo(30);
    expect(py).toBeCloseTo(170);
    expect(zoomCamera(camera, 1e9, 0, 0, 200, 200, 10).scale).toBe(10 * MAX_ZOOM);
    expect(zoomCamera(camera, 1e-9, 0, 0, 200, 200, 10).scale).toBe(2.5);
  });

  it("gives WebGL clip coordinates that agree with the screen mapping", () => {
    const camera = { cx: 1, cy: 2, scale: 5 };
    const [cx, cy, sx, sy] = clipTransform(camera, 400, 100);
    const [px, py] = toScreen(camera, 11, 7, 400, 100);
    expect(((11 - cx) * sx + 1) * 200).toBeCloseTo(px);
    expect((1 - (7 - cy) * sy) * 50).toBeCloseTo(py);
  });

  it("computes the extent, with a default for no points", () => {
    expect(extentOf(new Float32Array([1, 2, -3, 4, 0, -1]))).toEqual({ x0: -3, x1: 1, y0: -1, y1: 4 });
    expect(extentOf(new Float32Array(0))).toEqual({ x0: -1, x1: 1, y0: -1, y1: 1 });
  });
});

describe("3-D orbit", () => {
  it("is the identity at rest and a proper rotation otherwise", () => {
    expect(rotation({ yaw: 0, pitch: 0 }).map((v) => v + 0)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const m = rotation({ yaw: 0.7, pitch: -0.4 });
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        const dot = m[3 * r] * m[3 * c] + m[3 * r + 1] * m[3 * c + 1] + m[3 * r + 2] * m[3 * c + 2];
        expect(dot).toBeCloseTo(r === c ? 1 : 0);
      }
    }
  });

  it("projects about the centre: a quarter yaw turns z into x", () => {
    const coords = new Float32Array([1, 1, 1, 3, 5, 3]);
    expect(centre3(coords)).toEqual([2, 3, 2]);
    const plane = orbitToPlane(coords, { yaw: Math.PI / 2, pitch: 0 }, centre3(coords));
    expect(Array.from(plane).map((v) => Math.round(v * 1e6) / 1e6 + 0)).toEqual([-1, -2, 1, 2]);
  });

  it("reuses the output buffer and clamps the pitch", () => {
    const coords = new Float32Array([0, 0, 1]);
    const out = new Float32Array(2);
    expect(orbitToPlane(coords, { yaw: 0, pitch: 0 }, [0, 0, 0], out)).toBe(out);
    expect(orbitBy({ yaw: 0, pitch: 1.5 }, 10, 100).pitch).toBe(Math.PI / 2);
    expect(orbitBy({ yaw: 0, pitch: 0 }, 10, 0).yaw).toBeCloseTo(0.1);
  });

  it("keeps distances seen head-on and turns the axes gizmo with the points", () => {
    const orbit = orbitBy({ yaw: 0.6, pitch: 0.35 }, 37, -12);
    const axes = axisDirections(orbit);
    const unit = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const plane = orbitToPlane(unit, orbit, [0, 0, 0]);
    for (let axis = 0; axis < 3; axis++) {
      expect(plane[2 * axis]).toBeCloseTo(axes[axis][0]);
      expect(plane[2 * axis + 1]).toBeCloseTo(axes[axis][1]);
    }
    // orthographic: a segment along the viewing plane keeps its length; the depth axis shrinks to nothing
    const flat = orbitToPlane(new Float32Array([0, 0, 0, 2, 0, 0]), { yaw: 0, pitch: 0.9 }, [0, 0, 0]);
    expect(Math.hypot(flat[2] - flat[0], flat[3] - flat[1])).toBeCloseTo(2);
    const depth = orbitToPlane(new Float32Array([0, 0, 0, 0, 0, 2]), { yaw: Math.PI / 2, pitch: Math.PI / 2 }, [0, 0, 0]);
    expect(Math.hypot(depth[2], depth[3])).toBeCloseTo(2); // z seen from the side: full length
    const dragged = orbitBy(orbit, 0, 0);
    expect(dragged).toEqual(orbit); // no drag, no turn
  });
});

describe("SpatialGrid hit-testing", () => {
  it("finds the nearest point within the radius, as brute force does", () => {
    const xy = randomPoints(5000);
    const grid = new SpatialGrid(xy);
    const probes = randomPoints(300, 99);
    for (let p = 0; p < 300; p++) {
      const [x, y] = [probes[2 * p], probes[2 * p + 1]];
      for (const radius of [0.3, 2, 40]) expect(grid.nearest(x, y, radius)).toBe(bruteNearest(xy, x, y, radius));
    }
  });

  it("returns -1 when nothing is near, and for no points", () => {
    const grid = new SpatialGrid(new Float32Array([0, 0, 10, 10]));
    expect(grid.nearest(5, 5, 1)).toBe(-1);
    expect(grid.nearest(9.5, 10, 1)).toBe(1);
    expect(new SpatialGrid(new Float32Array(0)).nearest(0, 0, 10)).toBe(-1);
  });

  it("prefers the point drawn on top among duplicates, and handles flat clouds", () => {
    expect(new SpatialGrid(new Float32Array([1, 1, 1, 1, 1, 1])).nearest(1, 1, 0.5)).toBe(2);
    const line = Float32Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? i : 0));
    expect(new SpatialGrid(line).nearest(50.6, 0.2, 2)).toBe(25);
  });

  it("answers quickly for 100,000 points (no linear scan per query)", () => {
    const xy = randomPoints(100_000);
    const grid = new SpatialGrid(xy);
    const probes = randomPoints(2000, 3);
    let found = 0;
    for (let p = 0; p < 2000; p++) if (grid.nearest(probes[2 * p], probes[2 * p + 1], 0.5) >= 0) found++;
    expect(found).toBeGreaterThan(1000); // ~10 points per unit² on average
    expect(grid.nearest(probes[0], probes[1], 0.5)).toBe(bruteNearest(xy, probes[0], probes[1], 0.5));
  });
});

describe("selection", () => {
  const xy = new Float32Array([0, 0, 1, 1, 2, 2, 3, 0, 1, 3]);

  it("selects inside a box given by any two corners, edges included", () => {
    expect(boxFrom(2, 0, 0, 2)).toEqual({ x0: 0, x1: 2, y0: 0, y1: 2 });
    expect(selectInBox(xy, boxFrom(2, 2, 0.5, 0.5))).toEqual([1, 2]);
    expect(selectInBox(xy, boxFrom(-1, -1, 5, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(selectInBox(xy, boxFrom(10, 10, 11, 11))).toEqual([]);
  });

  it("selects inside a lasso polygon (even-odd), concave shapes included", () => {
    // a U shape: the notch between x 1.5 and 2.5 above y 0.5 is outside
    const u = [0.5, -0.5, 3.5, -0.5, 3.5, 3.5, 2.5, 3.5, 2.5, 0.5, 1.5, 0.5, 1.5, 3.5, 0.5, 3.5];
    expect(insidePolygon(1, 1, u)).toBe(true);
    expect(insidePolygon(2, 2, u)).toBe(false);
    expect(insidePolygon(3, 0, u)).toBe(true);
    expect(selectInPolygon(xy, u)).toEqual([1, 3, 4]);
    expect(selectInPolygon(xy, [0, 0, 1, 1])).toEqual([]);
  });

  it("builds a mask, ignoring indices out of range", () => {
    expect(selectionMask(4, [])).toBeNull();
    expect(Array.from(selectionMask(4, [3, 1, 9, -1]) ?? [])).toEqual([0, 1, 0, 1]);
  });
});

describe("colours", () => {
  it("parses the CSS colours Python sends", () => {
    expect(parseColour("#636EFA")).toEqual([99, 110, 250]);
    expect(parseColour("#fff")).toEqual([255, 255, 255]);
    expect(parseColour("rgb(12, 34.4, 300)")).toEqual([12, 34, 255]);
    expect(parseColour("not a colour")).toEqual([99, 110, 250]);
  });

  it("gives each point its label's colour, dimming unselected points", () => {
    const colours: [number, number, number][] = [
      [200, 0, 0],
      [0, 100, 0],
    ];
    const rgba = pointColours(new Uint8Array([1, 0]), colours, null);
    expect(Array.from(rgba)).toEqual([0, 100, 0, 255, 200, 0, 0, 255]);
    const dimmed = pointColours(new Uint8Array([1, 0]), colours, new Uint8Array([1, 0]));
    expect(Array.from(dimmed.subarray(0, 4))).toEqual([0, 100, 0, 255]);
    expect(dimmed[7]).toBe(Math.round(DIMMED_ALPHA * 255));
    expect(dimmed[4]).toBe(Math.round(200 * DIMMED_ALPHA));
  });

  it("composites over white for the canvas renderer", () => {
    const [opaque, faint] = opaqueOverWhite(new Uint8Array([10, 20, 30, 255, 10, 0, 0, 25]));
    expect(opaque).toBe(((255 << 24) | (30 << 16) | (20 << 8) | 10) >>> 0);
    expect(faint & 0xff).toBe(240); // 10 + (255 - 25)
    expect((faint >>> 8) & 0xff).toBe(230);
  });

  it("composites over a dark theme's ground for the canvas renderer", () => {
    const [opaque, faint] = opaqueOver(new Uint8Array([10, 20, 30, 255, 10, 0, 0, 25]), [17, 17, 17]);
    expect(opaque).toBe(((255 << 24) | (30 << 16) | (20 << 8) | 10) >>> 0);
    expect(faint & 0xff).toBe(25); // 10 + 17 · (255 − 25) / 255
    expect((faint >>> 8) & 0xff).toBe(15);
  });

  it("recognises software WebGL", () => {
    expect(isSoftwareRenderer("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)")).toBe(true);
    expect(isSoftwareRenderer("llvmpipe (LLVM 15.0.6, 256 bits)")).toBe(true);
    expect(isSoftwareRenderer("ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 Direct3D11 vs_5_0 ps_5_0)")).toBe(false);
  });
});

describe("fit with padding and the selection summary", () => {
  it("fitCamera keeps `pad` pixels free on the tighter side, at the canvas's aspect ratio", () => {
    const extent = { x0: -5, x1: 5, y0: -1, y1: 1 };
    const wide = fitCamera(extent, 1000, 200, 0, 10);
    expect(wide.scale).toBeCloseTo(Math.min(980 / 10, 180 / 2));
    const xy = Float32Array.from([-5, -1, 5, 1, 0, 0]);
    for (const [w, h] of [
      [1000, 200],
      [200, 1000],
      [300, 300],
    ]) {
      const camera = fitCamera(extent, w, h, 0.06, 6);
      expect(allOnScreen(camera, xy, w, h, 6)).toBe(true);
      expect(allOnScreen(camera, xy, w / 2, h)).toBe(false); // half as wide: the ends fall off
    }
  });

  it("summarise counts per label, most first, and lists the first few", () => {
    const labels = Uint8Array.from([0, 1, 1, 2, 1, 0]);
    const summary = summarise([0, 1, 2, 4, 5, 9], labels, ["a", "b", "c"], 3);
    expect(summary.count).toBe(5); // 9 is out of range
    expect(summary.labels).toEqual([
      { label: 1, name: "b", count: 3 },
      { label: 0, name: "a", count: 2 },
    ]);
    expect([summary.listed, summary.more]).toEqual([[0, 1, 2], 2]);
    expect(summarise([], labels, ["a"]).count).toBe(0);
    expect(listedText("expert 3 · 4%\ntop tokens: x", "experts")).toBe("expert 3 · 4%");
    expect(listedText("one\ntwo", "texts")).toBe("one\ntwo");
  });
});
