// A debouncer owned by one widget view (never module-wide, so two views do not share timers).

export interface Debouncer<A extends unknown[]> {
  /** Schedule `fn(...args)` after `wait` ms of quiet, replacing any call still waiting. */
  call(...args: A): void;
  /** Drop the waiting call, if any. */
  cancel(): void;
  /** Whether a call is waiting. */
  pending(): boolean;
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, wait: number): Debouncer<A> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    call(...args: A) {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        fn(...args);
      }, wait);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    pending: () => timer !== undefined,
  };
}
