import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { debounce } from "../src/lib/debounce";
import { clickSelection, describeSelection, meanOfLayer } from "../src/lib/selection";
import { SequenceTracker } from "../src/lib/sequence";

describe("head selection", () => {
  const current = { layer: 1, heads: [2] };

  it("selects one head on a plain click", () => {
    expect(clickSelection(current, 2, 1, false)).toEqual({ layer: 2, heads: [1] });
  });

  it("toggles heads with shift in the same layer, never emptying the selection", () => {
    const two = clickSelection(current, 1, 0, true);
    expect(two).toEqual({ layer: 1, heads: [0, 2] });
    expect(clickSelection(two, 1, 2, true)).toEqual({ layer: 1, heads: [0] });
    expect(clickSelection({ layer: 1, heads: [0] }, 1, 0, true)).toEqual({ layer: 1, heads: [0] });
    expect(clickSelection(two, 0, 3, true)).toEqual({ layer: 0, heads: [3] });
  });

  it("offers the mean of a layer and describes selections", () => {
    expect(meanOfLayer(2, 3)).toEqual({ layer: 2, heads: [0, 1, 2] });
    expect(describeSelection({ layer: 2, heads: [1] }, 4)).toBe("layer 2 · head 1");
    expect(describeSelection(meanOfLayer(0, 4), 4)).toBe("layer 0 · mean of all 4 heads");
    expect(describeSelection({ layer: 0, heads: [0, 2] }, 4)).toBe("layer 0 · mean of heads 0, 2");
  });
});

describe("SequenceTracker", () => {
  it("drops results older than the newest shown", () => {
    const tracker = new SequenceTracker(0);
    const first = tracker.next();
    const second = tracker.next();
    expect(second).toBeGreaterThan(first);
    expect(tracker.waiting()).toBe(true);
    expect(tracker.accept(second)).toBe(true);
    expect(tracker.accept(first)).toBe(false);
    expect(tracker.waiting()).toBe(false);
  });

  it("keeps waiting while a newer request is out, and numbers above what was answered elsewhere", () => {
    const tracker = new SequenceTracker(5);
    expect(tracker.waiting()).toBe(false);
    expect(tracker.next(9)).toBe(10);
    expect(tracker.next()).toBe(11);
    expect(tracker.accept(10)).toBe(true);
    expect(tracker.waiting()).toBe(true);
    expect(tracker.accept(10)).toBe(true); // the same answer again (another trait of one update)
  });

  it("numbers new requests above answers it has seen, even answers to other views", () => {
    const tracker = new SequenceTracker(0);
    expect(tracker.accept(5)).toBe(true);
    expect(tracker.next(4)).toBe(6);
  });
});

describe("debounce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("calls once with the last arguments after the pause", () => {
    const calls: string[] = [];
    const edit = debounce((text: string) => calls.push(text), 100);
    edit.call("a");
    vi.advanceTimersByTime(60);
    edit.call("ab");
    expect(edit.pending()).toBe(true);
    vi.advanceTimersByTime(99);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(["ab"]);
    expect(edit.pending()).toBe(false);
  });

  it("keeps instances independent and can cancel", () => {
    const calls: number[] = [];
    const one = debounce(() => calls.push(1), 50);
    const two = debounce(() => calls.push(2), 50);
    one.call();
    two.call();
    one.cancel();
    vi.advanceTimersByTime(50);
    expect(calls).toEqual([2]);
  });
});
