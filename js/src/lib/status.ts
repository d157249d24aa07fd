// A view's status as Python sends it (src/deepseek_viz/widgets/status.py): `{state, message}`, shown
// as `ready`, `computing` or `error: …` in a status element.

/** Mirrors Python's Status. */
export interface Status {
  state: "ready" | "computing" | "error";
  message: string;
}

export const READY: Status = { state: "ready", message: "" };
export const COMPUTING: Status = { state: "computing", message: "" };

/** An error status with `message`. */
export function errorStatus(message: string): Status {
  return { state: "error", message };
}

/** What the browser shows: `ready`, `computing` (`computing: SHAP 120/500 evaluations` when it says
 * what runs) or `error: …`. */
export function statusText(status: Status): string {
  if (status.state === "computing" && status.message) return `computing: ${status.message}`;
  return status.state === "error" ? `error: ${status.message}` : status.state;
}

/** Show `status` in `element`, marked busy (computing) or as an error for the styles. */
export function renderStatus(element: HTMLElement, status: Status): void {
  element.textContent = statusText(status);
  element.classList.toggle("dsv-busy", status.state === "computing");
  element.classList.toggle("dsv-error", status.state === "error");
}
