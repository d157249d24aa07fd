// EmbeddingScatter (src/deepseek_viz/widgets/embedding_scatter.py): texts (or one text's tokens through
// the layers) as points on a WebGL canvas: pan, zoom, hover tooltip, box/lasso selection synced to Python,
// click to pick a text, a legend per label (and the live point's entry), the "live point" of a linked
// view's text, a caption saying what the map shows, and a panel listing the selection.

import type { RenderProps } from "@anywidget/types";
import type { ArrayValue } from "./lib/buffers";
import { errorMessage, invoke } from "./lib/commands";
import { debounce } from "./lib/debounce";
import { element, markDrawn } from "./lib/dom";
import { listen } from "./lib/model";
import {
  allOnScreen,
  centre3,
  extentOf,
  fitCamera,
  orbitBy,
  orbitToPlane,
  panCamera,
  toPlane,
  toScreen,
  zoomCamera,
  type Camera,
  type Orbit,
} from "./lib/scatter/camera";
import { SpatialGrid } from "./lib/scatter/grid";
import { clear, drawAxes, drawPaths, drawRing, drawSelection, type Frame } from "./lib/scatter/overlay";
import { parseColour, pointColours, pointSize, type Rgb } from "./lib/scatter/palette";
import { LISTED, listedText, summarise } from "./lib/scatter/panel";
import { decodePoints, type PointData } from "./lib/scatter/points";
import { createRenderer } from "./lib/scatter/renderer";
import { boxFrom, selectInBox, selectInPolygon, selectionMask } from "./lib/scatter/select";
import { SCATTER_STYLES } from "./lib/scatter/styles";
import { errorStatus, renderStatus, type Status } from "./lib/status";
import { groundOf, onThemeChange, themeOf } from "./lib/theme";
import { showControls } from "./lib/tokens";

/** Mirrors the synced traits of EmbeddingScatter. */
export interface ScatterModel {
  selected: number[];
  clicked: number;
  clicked_text: string;
  live_point: number[];
  live_text: string;
  status: Status;
  mode: string;
  /** float32 `[n, dims]`. */
  _coords: ArrayValue;
  /** uint8 `[n]`: each point's index into `_label_names` (scale 255, so byte = index). */
  _labels: ArrayValue;
  _label_names: string[];
  _colours: string[];
  _texts: string[];
  _paths: { layers?: number; tokens?: number };
  /** A line above the points saying what they show (method, layer and pooling, dimension, count; the
   * expert map: which basis placed them); "" for none. */
  _caption: string;
  _data_id: number;
}

type Tool = "box" | "lasso";
const TOOLS: readonly Tool[] = ["box", "lasso"];

interface Gesture {
  kind: "pan" | "orbit" | Tool;
  startX: number;
  startY: number;
  lastX: number;
  lastY: number;
  moved: boolean;
  /** Screen polygon of a box or lasso, interleaved x, y. */
  outline: number[];
}

/** Pixels a press may move and still count as a click. */
const CLICK_SLOP = 4;
const DEFAULT_ORBIT: Orbit = { yaw: 0.6, pitch: 0.35 };
const TEXT_FETCH_DEBOUNCE_MS = 60;
/** Side of a point in the expert map (few points: drawn larger than a text's). */
const EXPERT_POINT_SIZE = 12;

function render({ model, el, experimental, signal }: RenderProps<ScatterModel>): () => void {
  let disposed = false;
  let data: PointData | null = null;
  let plane: Float32Array = new Float32Array(0); // where each point is on the plane the camera looks at
  let grid: SpatialGrid | null = null; // built on first hover after the plane changed
  let origin = [0, 0, 0];
  let orbit = DEFAULT_ORBIT;
  let camera: Camera = { cx: 0, cy: 0, scale: 1 };
  let fitScale = 1;
  let fitted = true; // the camera shows all points (no pan or zoom since): a resize fits them again
  let width = 0;
  let height = 0;
  let colours: Rgb[] = [];
  let hovered = -1;
  let gesture: Gesture | null = null;
  let tool: Tool = "box";
  let frameRequest = 0;
  const texts = new Map<number, string>(); // fetched on hover when Python does not send them all

  const stage = element("div", { className: "dsv-scatter-stage" });
  const linesCanvas = element("canvas");
  const input = element("canvas", {
    className: "dsv-scatter-input",
    attrs: {
      "aria-label":
        "embedding scatter: drag to pan, wheel to zoom, shift-drag to select; keys: arrows pan, + and − zoom, " +
        "0 shows everything, n and p step through the points, Enter picks the point shown",
      tabindex: "0",
      "data-lm-suppress-shortcuts": "true",
    },
  });
  const tooltip = element("div", { testid: "scatter-tooltip", className: "dsv-scatter-tooltip" });
  const tooltipText = element("span");
  const tooltipLabel = element("span", { className: "dsv-scatter-tooltip-label" });
  tooltip.append(tooltipText, tooltipLabel);
  tooltip.hidden = true;
  const live = element("div", { testid: "live-point", className: "dsv-live-point dsv-live-diamond" });
  live.hidden = true;
  const renderer = createRenderer();
  renderer.canvas.dataset.testid = "scatter-canvas";
  // what is drawn; the input canvas above them takes the pointer and the keyboard
  for (const drawn of [linesCanvas, renderer.canvas]) drawn.setAttribute("aria-hidden", "true");
  stage.append(linesCanvas, renderer.canvas, input, live, tooltip);
  const lines = linesCanvas.getContext("2d");
  const overlay = input.getContext("2d");

  const legend = element("div", { testid: "scatter-legend", className: "dsv-scatter-legend" });
  const status = element("span", { testid: "status", className: "dsv-scatter-status", attrs: { role: "status" } });
  const button = (testid: string, text: string, title: string, action: () => void): HTMLButtonElement => {
    const node = element("button", { testid, text, attrs: { title, type: "button" } });
    node.addEventListener("click", action);
    return node;
  };
  // the selection tools: a segmented control, the pressed button is the tool shift-drag uses
  const toolButtons = TOOLS.map((name) => {
    const node = button(`select-${name}`, name, `shift-drag selects with a ${name}`, () => setTool(name));
    node.dataset.tool = name;
    return node;
  });
  const tools = element(
    "div",
    { testid: "select-tool", className: "dsv-scatter-tools", attrs: { role: "group", "aria-label": "selection tool for shift-drag" } },
    element("span", { className: "dsv-scatter-tools-label", text: "select:" }),
    ...toolButtons,
  );
  const hint = element("span", { className: "dsv-scatter-hint" });
  const caption = element("div", { testid: "scatter-caption", className: "dsv-scatter-caption" });
  // the selection panel: "N selected", the count per label, the first few selected points, "clear"
  const count = element("span", { testid: "selection-count", className: "dsv-selection-count" });
  const perLabel = element("span", { testid: "selection-labels", className: "dsv-selection-labels" });
  const clearButton = button("clear-selection", "clear", "select nothing", () => select([]));
  const listed = element("ul", { testid: "selection-list", className: "dsv-selection-list" });
  const more = element("div", { testid: "selection-more", className: "dsv-selection-more" });
  const panel = element(
    "div",
    { testid: "selection-panel", className: "dsv-selection-panel", attrs: { "aria-label": "selected points" } },
    element("div", { className: "dsv-selection-head" }, count, perLabel, clearButton),
    listed,
    more,
  );
  panel.hidden = true;
  const root = element(
    "div",
    { testid: "embedding-scatter", className: "dsv-scatter", attrs: { "data-renderer": renderer.kind } },
    element("style", { text: SCATTER_STYLES }),
    element(
      "div",
      { className: "dsv-scatter-bar" },
      tools,
      button("reset-view", "reset view", "show all points (or double-click)", () => resetView()),
      status,
      hint,
    ),
    caption,
    element("div", { className: "dsv-scatter-body" }, stage, legend),
    panel,
  );
  el.replaceChildren(root);

  const frame = (): Frame => ({ camera, width, height });
  const size = (): number => (model.get("mode") === "experts" ? EXPERT_POINT_SIZE : pointSize(data?.n ?? 0));

  function requestDraw(): void {
    if (!frameRequest && !disposed) frameRequest = requestAnimationFrame(draw);
  }

  function draw(): void {
    frameRequest = 0;
    if (disposed || width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (stage.isConnected) renderer.setGround(groundOf(stage));
    renderer.draw(camera, size());
    const paths = model.get("_paths");
    if (lines) {
      clear(lines, frame(), ratio);
      if (data && paths.layers && paths.tokens) drawPaths(lines, plane, paths.layers, paths.tokens, frame());
    }
    if (overlay) {
      clear(overlay, frame(), ratio);
      const clicked = model.get("clicked");
      // the rings in the theme's colours, read at each draw (a theme switch redraws: onThemeChange below)
      const dark = root.isConnected && themeOf(root).dark;
      if (data && clicked >= 0 && clicked < data.n) ringAround(overlay, clicked, dark ? "#ff5252" : "#d50000");
      if (data && hovered >= 0 && hovered < data.n) ringAround(overlay, hovered, root.isConnected ? getComputedStyle(root).color : "#111");
      if (gesture && (gesture.kind === "box" || gesture.kind === "lasso")) drawSelection(overlay, gesture.outline);
      if (data?.dims === 3) drawAxes(overlay, orbit, frame());
    }
    placeLivePoint();
    root.dataset.camera = JSON.stringify({ ...camera, width, height });
    // while the camera is the fitted one: whether every point is on the canvas ("all") or not ("partial")
    if (fitted && width > 0) root.dataset.fit = allOnScreen(camera, plane, width, height) ? "all" : "partial";
    else delete root.dataset.fit;
    // 3-D: a point p is on the plane at rows 0–1 of rotation(orbit) · (p − origin) (camera.ts)
    if (data?.dims === 3) root.dataset.orbit = JSON.stringify({ ...orbit, origin });
    else delete root.dataset.orbit;
    markDrawn(root);
  }

  function ringAround(context: CanvasRenderingContext2D, index: number, colour: string): void {
    const radius = size() / 2 + 3;
    drawRing(context, plane[2 * index], plane[2 * index + 1], radius, colour, frame());
  }

  function placeLivePoint(): void {
    const point = model.get("live_point");
    if (!data || point.length !== data.dims) {
      live.hidden = true;
      return;
    }
    const onMap = (px: number, py: number): boolean => px >= 0 && py >= 0 && px <= width && py <= height;
    const [x, y] = data.dims === 3 ? orbitToPlane(Float32Array.from(point), orbit, origin) : point;
    const [px, py] = toScreen(camera, x, y, width, height);
    live.hidden = !onMap(px, py);
    live.style.left = `${px}px`;
    live.style.top = `${py}px`;
    live.dataset.x = String(point[0]);
    live.dataset.y = String(point[1]);
    live.title = model.get("live_text");
  }

  /** Recompute where the points are on the plane (3-D: after the orbit changed). */
  function updatePlane(): void {
    if (!data) plane = new Float32Array(0);
    else plane = data.dims === 2 ? data.coords : orbitToPlane(data.coords, orbit, origin, plane);
    renderer.setPositions(plane);
    grid = null;
  }

  /** Fit the camera to every point on the canvas as it is now (its real width and height), with a margin
   * and room for a point's radius. */
  function fit(): void {
    camera = fitCamera(extentOf(plane), width || 1, height || 1, 0.06, size() / 2 + 2);
    fitScale = camera.scale;
    fitted = true;
  }

  function resetView(): void {
    if (data?.dims === 3) {
      orbit = DEFAULT_ORBIT;
      updatePlane();
    }
    fit();
    requestDraw();
  }

  function showColours(): void {
    if (!data) return;
    renderer.setColours(pointColours(data.labels, colours, selectionMask(data.n, model.get("selected"))));
    showPanel();
    requestDraw();
  }

  function setTool(name: Tool): void {
    tool = name;
    for (const node of toolButtons) node.setAttribute("aria-pressed", String(node.dataset.tool === tool));
    showHint();
  }

  function showHint(): void {
    const drag = data?.dims === 3 ? "drag: rotate" : "drag: pan";
    hint.textContent = `${drag} · wheel: zoom · shift-drag: select (${tool}) · click: pick`;
  }

  /** The selection panel: hidden when nothing is selected. */
  function showPanel(): void {
    const selected = model.get("selected");
    const summary = summarise(selected, data?.labels ?? new Uint8Array(0), model.get("_label_names"));
    panel.hidden = summary.count === 0;
    root.dataset.selected = String(summary.count);
    count.textContent = summary.count ? `${summary.count} selected` : "";
    const named = model.get("_label_names").length > 1;
    perLabel.replaceChildren(
      ...(named ? summary.labels : []).map(({ label, name, count: n }) => {
        const [r, g, b] = colours[label] ?? [0, 0, 0];
        return element(
          "span",
          { className: "dsv-selection-label", attrs: { "data-label": String(label) } },
          element("span", { className: "dsv-legend-swatch", attrs: { style: `background: rgb(${r}, ${g}, ${b})` } }),
          element("span", { className: "dsv-selection-label-name", text: showControls(name) }),
          element("span", { className: "dsv-selection-label-count", text: String(n) }),
        );
      }),
    );
    const mode = model.get("mode");
    const missing: number[] = [];
    listed.replaceChildren(
      ...summary.listed.map((index) => {
        const text = textOf(index);
        if (text === undefined) missing.push(index);
        const shown = text === undefined ? "…" : showControls(listedText(text, mode));
        const verb = mode === "experts" ? "select this expert" : mode === "texts" ? "load this text (like a click on its point)" : "pick this point";
        const item = element(
          "button",
          { testid: "selection-item", className: "dsv-selection-item", text: shown, attrs: { type: "button", title: `${verb}: ${shown}`, "data-index": String(index) } },
        );
        item.addEventListener("click", () => click(index));
        return element("li", {}, item);
      }),
    );
    more.textContent = summary.more ? `… and ${summary.more} more (the first ${LISTED} are listed)` : "";
    more.hidden = !summary.more;
    if (missing.length) fetchListed(missing, selected);
  }

  /** Ask Python for the texts of listed points it did not send (large sets), then show the panel again
   * if the selection is still the one they were asked for. */
  function fetchListed(indices: number[], selected: number[]): void {
    Promise.all(
      indices.map((index) =>
        invoke<{ index: number; text: string }>(experimental, "_fetch_text", { index }, signal).then(([reply]) => {
          texts.set(reply.index, reply.text);
        }),
      ),
    )
      .then(() => {
        if (!disposed && model.get("selected") === selected) showPanel();
      })
      .catch(showError);
  }

  function select(indices: number[]): void {
    model.set("selected", indices); // fires change:selected, which recolours
    model.save_changes();
  }

  /** The legend: one entry per label (a button selecting its points) when there are two or more, and an
   * entry for the live point while one is shown (the same diamond as on the map). */
  function showLegend(): void {
    const names = model.get("_label_names");
    const counts = new Array<number>(names.length).fill(0);
    if (data) for (const label of data.labels) counts[label]++;
    const point = model.get("live_point");
    const showsLive = data !== null && point.length === data.dims;
    const entries: HTMLElement[] = (names.length < 2 ? [] : names).map((name, index) => {
      const [r, g, b] = colours[index] ?? [0, 0, 0];
      const entry = element(
        "button",
        { testid: `legend-${index}`, className: "dsv-legend-entry", attrs: { type: "button", title: `select all “${name}”` } },
        element("span", { className: "dsv-legend-swatch", attrs: { style: `background: rgb(${r}, ${g}, ${b})` } }),
        element("span", { className: "dsv-legend-name", text: showControls(name) }),
        element("span", { className: "dsv-legend-count", text: String(counts[index]) }),
      );
      entry.addEventListener("click", () => {
        const labels = data?.labels ?? new Uint8Array(0);
        select(Array.from(labels.keys()).filter((i) => labels[i] === index));
      });
      return entry;
    });
    if (showsLive) {
      const text = model.get("live_text");
      entries.push(
        element(
          "div",
          { testid: "legend-live", className: "dsv-legend-live", attrs: { title: text } },
          element("span", { className: "dsv-live-diamond dsv-legend-diamond" }),
          element("span", { className: "dsv-legend-name", text: "the text being edited" }),
        ),
      );
    }
    legend.hidden = entries.length === 0;
    legend.replaceChildren(...entries);
  }

  function onLivePoint(): void {
    showLegend(); // its live entry comes and goes with the live point, and its title is the text
    requestDraw();
  }

  function showStatus(): void {
    renderStatus(status, model.get("status"));
  }

  /** A command that failed (or data that cannot be read): its error in the status line. */
  function showError(error: unknown): void {
    if (!disposed) renderStatus(status, errorStatus(errorMessage(error)));
  }

  function onData(): void {
    try {
      data = decodePoints(model.get("_coords"), model.get("_labels"));
    } catch (error) {
      data = null;
      showError(error);
    }
    colours = model.get("_colours").map(parseColour);
    root.dataset.points = String(data?.n ?? 0); // 0 until a deferred map is filled
    root.dataset.mode = model.get("mode");
    root.dataset.dims = String(data?.dims ?? 2);
    caption.textContent = model.get("_caption") ?? "";
    caption.hidden = !caption.textContent;
    origin = data?.dims === 3 ? centre3(data.coords) : [0, 0, 0];
    orbit = DEFAULT_ORBIT;
    showHint();
    texts.clear();
    hideTooltip();
    updatePlane();
    resetView();
    showColours();
    showLegend();
  }

  // --- hover -------------------------------------------------------------------------------------

  function pick(px: number, py: number): number {
    if (!data || data.n === 0) return -1;
    grid ??= new SpatialGrid(plane);
    const [x, y] = toPlane(camera, px, py, width, height);
    return grid.nearest(x, y, (size() / 2 + 4) / camera.scale);
  }

  function textOf(index: number): string | undefined {
    return model.get("_texts")[index] ?? texts.get(index);
  }

  const fetchText = debounce((index: number) => {
    invoke<{ index: number; text: string }>(experimental, "_fetch_text", { index }, signal)
      .then(([reply]) => {
        if (disposed) return;
        texts.set(reply.index, reply.text);
        if (hovered === reply.index) showTooltip();
      })
      .catch((error: unknown) => {
        // in the tooltip while it still shows that point; the next hover asks again
        if (!disposed && hovered === index) tooltipText.textContent = `error: ${errorMessage(error)}`;
      });
  }, TEXT_FETCH_DEBOUNCE_MS);

  function hideTooltip(): void {
    tooltip.hidden = true;
    delete tooltip.dataset.index;
  }

  function showTooltip(): void {
    if (!data || hovered < 0) return hideTooltip();
    const text = textOf(hovered);
    if (text === undefined) fetchText.call(hovered);
    tooltipText.textContent = text === undefined ? "…" : showControls(text);
    const names = model.get("_label_names");
    tooltipLabel.textContent = names.length > 1 ? showControls(names[data.labels[hovered]]) : "";
    tooltipLabel.hidden = !tooltipLabel.textContent;
    tooltip.dataset.index = String(hovered);
    tooltip.hidden = false;
    const [px, py] = toScreen(camera, plane[2 * hovered], plane[2 * hovered + 1], width, height);
    tooltip.style.left = `${Math.min(Math.max(0, px + 12), Math.max(0, width - tooltip.offsetWidth - 4))}px`;
    tooltip.style.top = `${py + 12 + tooltip.offsetHeight > height ? Math.max(0, py - 12 - tooltip.offsetHeight) : py + 12}px`;
  }

  function hover(px: number, py: number): void {
    const index = pick(px, py);
    if (index === hovered) return;
    hovered = index;
    showTooltip();
    requestDraw();
  }

  // --- gestures ----------------------------------------------------------------------------------

  function local(event: MouseEvent): [number, number] {
    const box = input.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  function onDown(event: PointerEvent): void {
    if (event.button !== 0 || !data) return;
    const [px, py] = local(event);
    try {
      input.setPointerCapture(event.pointerId);
    } catch {
      // not an active pointer (a synthetic event): the drag still works inside the canvas
    }
    const kind = event.shiftKey ? tool : data.dims === 3 ? "orbit" : "pan";
    gesture = { kind, startX: px, startY: py, lastX: px, lastY: py, moved: false, outline: [px, py] };
  }

  function onMove(event: PointerEvent): void {
    const [px, py] = local(event);
    const g = gesture;
    if (!g) return hover(px, py);
    g.moved ||= Math.hypot(px - g.startX, py - g.startY) > CLICK_SLOP;
    if (!g.moved) return;
    if (g.kind === "pan") {
      camera = panCamera(camera, px - g.lastX, py - g.lastY);
      fitted = false;
    } else if (g.kind === "orbit") {
      orbit = orbitBy(orbit, px - g.lastX, py - g.lastY);
      fitted = false;
      updatePlane();
    } else if (g.kind === "box") g.outline = [g.startX, g.startY, px, g.startY, px, py, g.startX, py];
    else g.outline.push(px, py);
    [g.lastX, g.lastY] = [px, py];
    hovered = -1;
    hideTooltip();
    requestDraw();
  }

  function onUp(event: PointerEvent): void {
    const g = gesture;
    gesture = null;
    if (!g) return;
    const [px, py] = local(event);
    if (!g.moved) {
      if (g.kind === "pan" || g.kind === "orbit") click(pick(px, py));
    } else if (g.kind === "box" || g.kind === "lasso") {
      const polygon: number[] = [];
      for (let i = 0; i + 1 < g.outline.length; i += 2) polygon.push(...toPlane(camera, g.outline[i], g.outline[i + 1], width, height));
      if (g.kind === "box") select(selectInBox(plane, boxFrom(polygon[0], polygon[1], polygon[4], polygon[5])));
      else select(selectInPolygon(plane, polygon));
    }
    requestDraw();
  }

  function click(index: number): void {
    if (index < 0) return;
    invoke(experimental, "_click", { index }, signal).catch(showError);
  }

  function onWheel(event: WheelEvent): void {
    event.preventDefault();
    const [px, py] = local(event);
    camera = zoomCamera(camera, Math.exp(-event.deltaY * 0.0015), px, py, width, height, fitScale);
    fitted = false;
    hovered = -1;
    hideTooltip();
    requestDraw();
  }

  function onLeave(): void {
    if (gesture) return;
    hovered = -1;
    hideTooltip();
    requestDraw();
  }

  /** The keyboard: arrows pan (or rotate a 3-D map), + / − zoom about the centre, 0 fits, n / p step
   * the hovered point through the points (its tooltip shows), Enter picks it, Escape lets it go. */
  function onKey(event: KeyboardEvent): void {
    if (!data || data.n === 0) return;
    const step = 40;
    const moves: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    const move = moves[event.key];
    if (move) {
      if (data.dims === 3) {
        orbit = orbitBy(orbit, -move[0], -move[1]);
        updatePlane();
      } else camera = panCamera(camera, move[0], move[1]);
      fitted = false;
    } else if (event.key === "+" || event.key === "=" || event.key === "-") {
      camera = zoomCamera(camera, event.key === "-" ? 1 / 1.25 : 1.25, width / 2, height / 2, width, height, fitScale);
      fitted = false;
    } else if (event.key === "0") resetView();
    else if (event.key === "n" || event.key === "p") {
      const from = hovered < 0 ? (event.key === "n" ? -1 : 0) : hovered;
      hovered = (from + (event.key === "n" ? 1 : data.n - 1)) % data.n;
    } else if (event.key === "Enter" && hovered >= 0) click(hovered);
    else if (event.key === "Escape") hovered = -1;
    else return;
    event.preventDefault();
    showTooltip();
    requestDraw();
  }

  function onResize(): void {
    const [w, h] = [stage.clientWidth, stage.clientHeight];
    if (w === 0 || h === 0 || (w === width && h === height)) return;
    [width, height] = [w, h];
    renderer.resize(width, height, window.devicePixelRatio || 1);
    if (fitted) fit(); // all points stay on the canvas of the new size (a camera the user moved stays)
    requestDraw();
  }

  input.addEventListener("pointerdown", onDown);
  input.addEventListener("pointermove", onMove);
  input.addEventListener("pointerup", onUp);
  input.addEventListener("pointerleave", onLeave);
  input.addEventListener("wheel", onWheel, { passive: false });
  input.addEventListener("dblclick", resetView);
  input.addEventListener("keydown", onKey);
  const resizes = new ResizeObserver(onResize);
  resizes.observe(stage);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:selected", showColours],
    ["change:clicked", requestDraw],
    ["change:live_point", onLivePoint],
    ["change:live_text", onLivePoint],
    ["change:status", showStatus],
  ]);
  showStatus();
  setTool(tool);
  onData();
  onResize();
  const unwatchTheme = onThemeChange(requestDraw);

  return () => {
    disposed = true;
    unlisten();
    unwatchTheme();
    if (frameRequest) cancelAnimationFrame(frameRequest);
    fetchText.cancel();
    resizes.disconnect();
    input.removeEventListener("pointerdown", onDown);
    input.removeEventListener("pointermove", onMove);
    input.removeEventListener("pointerup", onUp);
    input.removeEventListener("pointerleave", onLeave);
    input.removeEventListener("wheel", onWheel);
    input.removeEventListener("dblclick", resetView);
    input.removeEventListener("keydown", onKey);
    renderer.destroy();
    root.remove();
  };
}

export default { render };
