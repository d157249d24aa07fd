// Commands to the kernel (src/deepseek_viz/widgets/commands.py is the other side): every command
// answers, with its result or with `{error}`. `invoke` turns an error answer into a rejected promise,
// so each call site shows the error where the action was.

import type { Experimental } from "@anywidget/types";
import { element } from "./dom";

/** The answer of a command whose handler raised. */
interface ErrorReply {
  error: string;
}

/** A command answered with an error (its message is the one-line error from Python). */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

function isErrorReply(reply: unknown): reply is ErrorReply {
  return typeof reply === "object" && reply !== null && typeof (reply as Partial<ErrorReply>).error === "string";
}

/** Send command `name` with `msg`; its reply and buffers, or a rejection with a CommandError when the
 * handler raised (or the invocation's own error: aborted, no kernel, …). */
export async function invoke<T>(experimental: Experimental, name: string, msg: unknown, signal: AbortSignal): Promise<[T, DataView[]]> {
  const [reply, buffers] = await experimental.invoke<T | ErrorReply>(name, msg, { signal });
  if (isErrorReply(reply)) throw new CommandError(name, reply.error);
  return [reply, buffers];
}

/** The message of anything a rejected command gave. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where a view shows the error of its last failed command, beside the control that sent it (hidden
 * while there is none). */
export class CommandErrorLine {
  readonly root: HTMLSpanElement;

  constructor(testid: string) {
    this.root = element("span", { testid, className: "dsv-command-error", attrs: { role: "alert" } });
    this.root.hidden = true;
  }

  /** Show `error` (what a rejected command gave) as `error: …`. */
  show(error: unknown): void {
    this.root.textContent = `error: ${errorMessage(error)}`;
    this.root.hidden = false;
  }

  clear(): void {
    this.root.textContent = "";
    this.root.hidden = true;
  }
}
