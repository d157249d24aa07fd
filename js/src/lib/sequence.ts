// Sequence numbers for live edits: each request gets a larger number; a result is shown only if it
// is not older than the newest result already shown.

export class SequenceTracker {
  private sent = 0;
  private shown = 0;

  /** Start from what the model already answered (another view of the same model may have edited). */
  constructor(answered = 0) {
    this.sent = answered;
    this.shown = answered;
  }

  /** Number for a new request: above every number sent or answered so far. */
  next(answered = 0): number {
    this.sent = Math.max(this.sent, answered) + 1;
    return this.sent;
  }

  /** Record a result tagged `seq`; false when it is older than the newest shown (drop it). */
  accept(seq: number): boolean {
    if (seq < this.shown) return false;
    this.shown = seq;
    this.sent = Math.max(this.sent, seq);
    return true;
  }

  /** Whether a request newer than the newest shown result is still out. */
  waiting(): boolean {
    return this.sent > this.shown;
  }
}
