/**
 * Things started one after another, stopped in the reverse order: what a start that fails half-way, and
 * the final stop, both need. Every stop runs even when an earlier one fails; the first failure is
 * passed on once all have run.
 */
export class CleanupStack {
  private readonly stops: (() => Promise<void>)[] = [];
  private unwinding: Promise<void> | undefined;

  push(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  /** Run every stop, last pushed first. Idempotent: later calls get the first call's promise. */
  unwind(): Promise<void> {
    this.unwinding ??= (async () => {
      const errors: unknown[] = [];
      for (const stop of [...this.stops].reverse()) {
        try {
          await stop();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    })();
    return this.unwinding;
  }
}
