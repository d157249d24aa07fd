// Canvas colours of the routing and lens views in JupyterLab's light and dark themes: the theme is read
// from the text colour the page gives the view (light text → a dark theme).

export interface CanvasColours {
  empty: string;
  groupTint: string;
  groupLine: string;
  selected: string;
}

const LIGHT: CanvasColours = { empty: "#f1f1f1", groupTint: "#dbeafe", groupLine: "#90a4ae", selected: "#e53935" };
const DARK: CanvasColours = { empty: "#2b2b2b", groupTint: "#1e3a5f", groupLine: "#607d8b", selected: "#ff5252" };

/** Whether CSS colour `colour` (`rgb(…)`/`rgba(…)`) is light, i.e. text of a dark theme. */
export function isLightColour(colour: string): boolean {
  const parts = colour.match(/[\d.]+/g);
  if (!parts || parts.length < 3) return false;
  const [r, g, b] = parts.slice(0, 3).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140;
}

/** The canvas colours for the theme `node` is shown in. */
export function canvasColours(node: Element): CanvasColours {
  const colour = node.isConnected ? getComputedStyle(node).color : "";
  return isLightColour(colour) ? DARK : LIGHT;
}
