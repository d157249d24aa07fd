// The theme a view is shown in, read from the page: JupyterLab's variables where it has them (light,
// dark, high contrast), the colours the page computed otherwise (the standalone page, Voila without a
// theme). Canvas-drawn text and cells read these at each draw; `onThemeChange` redraws when JupyterLab
// switches theme (it flips `data-jp-theme-light` on <body> and swaps the theme's style sheet).

import { isDarkGround, over, parseColour, type Rgb } from "./colour";

export interface Theme {
  dark: boolean;
  /** The opaque colour behind the view. */
  ground: Rgb;
  /** Text colour (CSS). */
  ink: string;
  /** Secondary lines, grid and borders (CSS). */
  line: string;
  /** The selection accent (CSS). */
  accent: string;
}

const FALLBACK_GROUND: Rgb = [255, 255, 255];

/** The opaque colour behind `node`: its ancestors' background colours composited from the page down. */
export function groundOf(node: Element): Rgb {
  const layers: [number, number, number, number][] = [];
  for (let at: Element | null = node; at; at = at.parentElement) {
    const colour = parseColour(getComputedStyle(at).backgroundColor);
    if (colour && colour[3] > 0) {
      layers.push(colour);
      if (colour[3] >= 1) break;
    }
  }
  return layers.reverse().reduce<Rgb>((below, [r, g, b, a]) => over([r, g, b], a, below), FALLBACK_GROUND);
}

/** The theme of `node` (light when it is not in a page). */
export function themeOf(node: Element): Theme {
  if (!node.isConnected) return { dark: false, ground: FALLBACK_GROUND, ink: "#222", line: "#bbb", accent: "#1976d2" };
  const style = getComputedStyle(node);
  const ground = groundOf(node);
  const dark = isDarkGround(ground);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    dark,
    ground,
    ink: style.color || (dark ? "#ddd" : "#222"),
    line: read("--jp-border-color1", dark ? "#616161" : "#bdbdbd"),
    accent: read("--jp-brand-color1", dark ? "#64b5f6" : "#1976d2"),
  };
}

/** Call `redraw` whenever JupyterLab changes theme (the body's flag, or a theme style sheet added); the
 * function returned stops watching. */
export function onThemeChange(redraw: () => void): () => void {
  if (typeof MutationObserver === "undefined" || typeof document === "undefined") return () => {};
  let pending = 0;
  const later = (): void => {
    cancelAnimationFrame(pending);
    // twice: the theme's sheet applies a frame after the flag flips
    pending = requestAnimationFrame(() => (pending = requestAnimationFrame(redraw)));
  };
  const observer = new MutationObserver(later);
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"] });
  observer.observe(document.head, { childList: true });
  return () => {
    observer.disconnect();
    cancelAnimationFrame(pending);
  };
}
