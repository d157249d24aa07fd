import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AnyModel, Experimental } from "@anywidget/types";
import { EDIT_DEBOUNCE_MS, LiveEditor, type LiveTextModel } from "../src/lib/live_editor";
import { FakeModel } from "./fake_model";
import { READY } from "../src/lib/status";

type Reply = [{ stale: boolean }, DataView[]];

/** An editor on a FakeModel whose `_edit` replies wait until the test settles them, in order. */
function setup() {
  const model = new FakeModel<LiveTextModel>({ text: "start", status: READY, _seq: 0, show_editor: true });
  const replies: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  const invoke = vi.fn(() => new Promise<Reply>((resolve, reject) => replies.push({ resolve, reject })));
  const aborter = new AbortController();
  const editor = new LiveEditor(model as unknown as AnyModel<LiveTextModel>, { invoke } as unknown as Experimental, aborter.signal);
  const type = (text: string): void => {
    editor.input.value = text;
    editor.input.dispatchEvent(new Event("input"));
  };
  /** Python's side of one edit: publish the answer (`_seq`, status), then reply. */
  const answer = async (seq: number, text: string): Promise<void> => {
    model.update({ text, _seq: seq, status: READY });
    replies.shift()?.resolve([{ stale: false }, []]);
    await vi.advanceTimersByTimeAsync(0);
  };
  const sent = () => invoke.mock.calls.map((call) => (call as unknown[])[1]);
  return { model, editor, invoke, replies, type, answer, sent };
}

describe("LiveEditor", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("keeps one edit in flight and sends only the latest text typed meanwhile", async () => {
    const { editor, type, answer, sent } = setup();
    type("a");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS + 10);
    expect(sent()).toEqual([{ text: "a", seq: 1 }]);
    for (const text of ["ab", "abc", "abcd"]) {
      type(text);
      await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS + 10); // each edit's debounce runs out
    }
    expect(sent()).toHaveLength(1); // the first is still out
    expect(editor.status.textContent).toBe("computing");
    await answer(1, "a");
    expect(sent()).toEqual([
      { text: "a", seq: 1 },
      { text: "abcd", seq: 2 },
    ]);
    expect(editor.input.value).toBe("abcd"); // the answer to "a" did not overwrite the box
    expect(editor.status.textContent).toBe("computing");
    await answer(2, "abcd");
    expect(sent()).toHaveLength(2);
    expect(editor.status.textContent).toBe("ready");
  });

  it("still debounces: a burst of keystrokes is one edit", async () => {
    const { type, sent } = setup();
    for (let i = 1; i <= 200; i++) {
      type("x".repeat(i));
      await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS / 6);
    }
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    expect(sent()).toEqual([{ text: "x".repeat(200), seq: 1 }]);
  });

  it("sends nothing more once every edit is answered", async () => {
    const { type, answer, sent, editor } = setup();
    type("one");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    await answer(1, "one");
    await vi.advanceTimersByTimeAsync(10 * EDIT_DEBOUNCE_MS);
    expect(sent()).toEqual([{ text: "one", seq: 1 }]);
    expect(editor.status.textContent).toBe("ready");
  });

  it("goes on with the kept text after a stale reply or a failed call", async () => {
    const { type, replies, sent, editor, model } = setup();
    type("first");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    type("second");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    model.update({ _seq: 5 }); // another view of the model answered a newer edit meanwhile
    replies.shift()?.resolve([{ stale: true }, []]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent()).toEqual([
      { text: "first", seq: 1 },
      { text: "second", seq: 6 },
    ]);
    type("third");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    replies.shift()?.reject(new Error("comm closed"));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent()).toHaveLength(3);
    expect((sent()[2] as { text: string }).text).toBe("third");
    replies.shift()?.reject(new Error("comm closed"));
    await vi.advanceTimersByTimeAsync(0);
    expect(editor.status.textContent).toBe("error: comm closed");
  });

  it("sends nothing after it is destroyed", async () => {
    const { type, editor, replies, sent } = setup();
    type("a");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    type("ab");
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    editor.destroy();
    replies.shift()?.resolve([{ stale: false }, []]);
    await vi.advanceTimersByTimeAsync(EDIT_DEBOUNCE_MS);
    expect(sent()).toHaveLength(1);
  });
});
