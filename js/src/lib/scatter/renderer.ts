// Drawing the points: WebGL (one draw call of GL_POINTS; pan and zoom only change uniforms) or, where
// WebGL is unavailable, a canvas 2D fallback that writes the pixels of an ImageData directly.

import { clipTransform, toScreen, type Camera } from "./camera";

export interface PointRenderer {
  readonly kind: "webgl" | "canvas";
  /** The canvas it draws on (created with the renderer). */
  readonly canvas: HTMLCanvasElement;
  /** New plane positions (interleaved x, y) and premultiplied RGBA bytes, one entry per point. */
  setPositions(xy: Float32Array): void;
  setColours(rgba: Uint8Array): void;
  /** The stage's opaque background (the canvas renderer composites translucent points over it). */
  setGround(ground: readonly [number, number, number]): void;
  /** Resize the drawing buffer to width × height CSS pixels at `ratio` device pixels per CSS pixel. */
  resize(width: number, height: number, ratio: number): void;
  draw(camera: Camera, size: number): void;
  destroy(): void;
}

const VERTEX = `
attribute vec2 a_xy;
attribute vec4 a_rgba;
uniform vec4 u_clip;
uniform float u_size;
varying vec4 v_rgba;
void main() {
  gl_Position = vec4((a_xy.x - u_clip.x) * u_clip.z, (a_xy.y - u_clip.y) * u_clip.w, 0.0, 1.0);
  gl_PointSize = u_size;
  v_rgba = a_rgba;
}`;

const FRAGMENT = `
precision mediump float;
varying vec4 v_rgba;
void main() {
  vec2 d = gl_PointCoord - 0.5;
  if (dot(d, d) > 0.25) discard;
  gl_FragColor = v_rgba;
}`;

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type);
  if (!shader) throw new Error("WebGL: cannot create a shader");
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`WebGL: ${gl.getShaderInfoLog(shader)}`);
  return shader;
}

class WebGLPoints implements PointRenderer {
  readonly kind = "webgl";
  private readonly program: WebGLProgram;
  private readonly positions: WebGLBuffer;
  private readonly colours: WebGLBuffer;
  private readonly clip: WebGLUniformLocation | null;
  private readonly size: WebGLUniformLocation | null;
  private count = 0;
  private width = 1;
  private height = 1;
  private ratio = 1;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly gl: WebGLRenderingContext,
  ) {
    const program = gl.createProgram();
    const positions = gl.createBuffer();
    const colours = gl.createBuffer();
    if (!program || !positions || !colours) throw new Error("WebGL: cannot create buffers");
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`WebGL: ${gl.getProgramInfoLog(program)}`);
    [this.program, this.positions, this.colours] = [program, positions, colours];
    gl.useProgram(program);
    this.clip = gl.getUniformLocation(program, "u_clip");
    this.size = gl.getUniformLocation(program, "u_size");
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA); // colours are premultiplied
  }

  private attribute(name: string, buffer: WebGLBuffer, size: number, type: number, normalised: boolean): void {
    const gl = this.gl;
    const location = gl.getAttribLocation(this.program, name);
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.enableVertexAttribArray(location);
    gl.vertexAttribPointer(location, size, type, normalised, 0, 0);
  }

  setPositions(xy: Float32Array): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.positions);
    gl.bufferData(gl.ARRAY_BUFFER, xy, gl.DYNAMIC_DRAW);
    this.attribute("a_xy", this.positions, 2, gl.FLOAT, false);
    this.count = Math.floor(xy.length / 2);
  }

  setGround(): void {
    // blended by the GPU over the stage's own background: nothing to do
  }

  setColours(rgba: Uint8Array): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colours);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.DYNAMIC_DRAW);
    this.attribute("a_rgba", this.colours, 4, gl.UNSIGNED_BYTE, true);
  }

  resize(width: number, height: number, ratio: number): void {
    [this.width, this.height, this.ratio] = [width, height, ratio];
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
  }

  draw(camera: Camera, size: number): void {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.count === 0) return;
    gl.uniform4fv(this.clip, clipTransform(camera, this.width, this.height));
    gl.uniform1f(this.size, size * this.ratio);
    gl.drawArrays(gl.POINTS, 0, this.count);
  }

  destroy(): void {
    this.gl.deleteBuffer(this.positions);
    this.gl.deleteBuffer(this.colours);
    this.gl.deleteProgram(this.program);
  }
}

/** One opaque little-endian RGBA word per point: premultiplied colours composited over white (the stage's
 * background), so a translucent point needs no blending when drawn. */
export function opaqueOverWhite(rgba: Uint8Array): Uint32Array {
  return opaqueOver(rgba, [255, 255, 255]);
}

/** As {@link opaqueOverWhite}, over the opaque colour `ground` (the stage's background in the theme). */
export function opaqueOver(rgba: Uint8Array, ground: readonly [number, number, number]): Uint32Array {
  const out = new Uint32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) {
    const rest = (255 - rgba[4 * i + 3]) / 255;
    const [r, g, b] = [0, 1, 2].map((c) => Math.min(255, Math.round(rgba[4 * i + c] + ground[c] * rest)));
    out[i] = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }
  return out;
}

/** Up to this many points the canvas renderer draws round points with paths; above it, square pixels. */
export const ROUND_POINTS_LIMIT = 5_000;

function cssOf(word: number): string {
  return `rgb(${word & 0xff}, ${(word >>> 8) & 0xff}, ${(word >>> 16) & 0xff})`;
}

class CanvasPoints implements PointRenderer {
  readonly kind = "canvas";
  private xy: Float32Array = new Float32Array(0);
  private colours: Uint32Array = new Uint32Array(0);
  private image: ImageData | null = null;
  private width = 1;
  private height = 1;
  private ratio = 1;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly context: CanvasRenderingContext2D,
  ) {}

  setPositions(xy: Float32Array): void {
    this.xy = xy;
  }

  private rgba: Uint8Array = new Uint8Array(0);
  private ground: readonly [number, number, number] = [255, 255, 255];

  setColours(rgba: Uint8Array): void {
    this.rgba = rgba;
    this.colours = opaqueOver(rgba, this.ground);
  }

  setGround(ground: readonly [number, number, number]): void {
    if (ground.every((v, i) => v === this.ground[i])) return;
    this.ground = [...ground] as [number, number, number];
    this.colours = opaqueOver(this.rgba, this.ground);
  }

  resize(width: number, height: number, ratio: number): void {
    [this.width, this.height, this.ratio] = [width, height, ratio];
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.image = null;
  }

  /** Round points for few, else square points written as 32-bit pixels of one reused ImageData (later
   * points on top). */
  draw(camera: Camera, size: number): void {
    const { width, height } = this.canvas;
    if (this.colours.length <= ROUND_POINTS_LIMIT) {
      this.drawRound(camera, size);
      return;
    }
    this.image ??= this.context.createImageData(width, height);
    const pixels = new Uint32Array(this.image.data.buffer);
    pixels.fill(0);
    const side = Math.max(1, Math.round(size * this.ratio * 0.8));
    const k = camera.scale * this.ratio;
    const ox = (this.width / 2) * this.ratio - camera.cx * k - side / 2;
    const oy = (this.height / 2) * this.ratio + camera.cy * k - side / 2;
    const n = Math.min(this.xy.length / 2, this.colours.length);
    for (let i = 0; i < n; i++) {
      const left = Math.round(ox + this.xy[2 * i] * k);
      const top = Math.round(oy - this.xy[2 * i + 1] * k);
      if (left >= width || top >= height || left + side <= 0 || top + side <= 0) continue;
      const colour = this.colours[i];
      const [x0, x1] = [Math.max(0, left), Math.min(width, left + side)];
      for (let y = Math.max(0, top); y < Math.min(height, top + side); y++) pixels.fill(colour, y * width + x0, y * width + x1);
    }
    this.context.putImageData(this.image, 0, 0);
  }

  private drawRound(camera: Camera, size: number): void {
    const context = this.context;
    context.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    context.clearRect(0, 0, this.width, this.height);
    const n = Math.min(this.xy.length / 2, this.colours.length);
    for (let i = 0; i < n; i++) {
      const [x, y] = toScreen(camera, this.xy[2 * i], this.xy[2 * i + 1], this.width, this.height);
      context.fillStyle = cssOf(this.colours[i]);
      context.beginPath();
      context.arc(x, y, size / 2, 0, 2 * Math.PI);
      context.fill();
    }
  }

  destroy(): void {}
}

/** Whether WebGL is emulated on the CPU (SwiftShader, llvmpipe): there, writing pixels directly is
 * faster (100k points pan at ~6 redraws/s through SwiftShader, at the input rate through ImageData). */
export function isSoftwareRenderer(name: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software/i.test(name);
}

function rendererName(gl: WebGLRenderingContext): string {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

/** A renderer on a new canvas: WebGL on a hardware GPU, else (no WebGL, software WebGL, or a driver
 * that fails to compile the shaders) the canvas 2D renderer. */
export function createRenderer(): PointRenderer {
  const canvas = document.createElement("canvas");
  const gl = canvas.getContext("webgl", { premultipliedAlpha: true, antialias: false });
  if (gl && !isSoftwareRenderer(rendererName(gl))) {
    try {
      return new WebGLPoints(canvas, gl);
    } catch {
      // fall through to the 2D renderer on a fresh canvas
    }
  }
  gl?.getExtension("WEBGL_lose_context")?.loseContext();
  const fallback = document.createElement("canvas");
  const context = fallback.getContext("2d");
  if (!context) throw new Error("neither WebGL nor a canvas 2D context is available");
  return new CanvasPoints(fallback, context);
}
