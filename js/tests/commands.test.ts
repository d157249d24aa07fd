import { describe, expect, it, vi } from "vitest";
import type { Experimental } from "@anywidget/types";
import { CommandError, CommandErrorLine, errorMessage, invoke } from "../src/lib/commands";
import { errorStatus, READY, renderStatus, statusText } from "../src/lib/status";

function experimental(reply: unknown): Experimental {
  return { invoke: vi.fn(() => Promise.resolve([reply, []])) } as unknown as Experimental;
}

describe("invoke", () => {
  const signal = new AbortController().signal;

  it("resolves with the reply and buffers of a command that answered", async () => {
    await expect(invoke(experimental({ index: 3 }), "_click", { index: 3 }, signal)).resolves.toEqual([{ index: 3 }, []]);
  });

  it("rejects with a CommandError when the command answered with an error", async () => {
    const failed = invoke(experimental({ error: "TraceOutOfMemoryError: out of memory" }), "_run_sampling", {}, signal);
    await expect(failed).rejects.toBeInstanceOf(CommandError);
    await expect(failed).rejects.toThrow("TraceOutOfMemoryError: out of memory");
  });

  it("passes on the invocation's own failure", async () => {
    const broken = { invoke: () => Promise.reject(new Error("no kernel")) } as unknown as Experimental;
    await expect(invoke(broken, "_edit", {}, signal)).rejects.toThrow("no kernel");
  });
});

describe("errors and statuses", () => {
  it("reads any rejection as a message", () => {
    expect(errorMessage(new CommandError("_click", "bad index"))).toBe("bad index");
    expect(errorMessage("plain")).toBe("plain");
  });

  it("shows an error line only while there is an error", () => {
    const line = new CommandErrorLine("x-error");
    expect(line.root.hidden).toBe(true);
    line.show(new Error("boom"));
    expect([line.root.hidden, line.root.textContent, line.root.dataset.testid]).toEqual([false, "error: boom", "x-error"]);
    line.clear();
    expect(line.root.hidden).toBe(true);
  });

  it("shows a status as ready, computing or error: …", () => {
    const element = document.createElement("span");
    renderStatus(element, errorStatus("too long"));
    expect([element.textContent, element.classList.contains("dsv-error")]).toEqual(["error: too long", true]);
    renderStatus(element, READY);
    expect([element.textContent, element.classList.contains("dsv-error")]).toEqual(["ready", false]);
    expect(statusText({ state: "computing", message: "" })).toBe("computing");
  });
});
