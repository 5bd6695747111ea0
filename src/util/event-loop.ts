/**
 * Lets pending I/O (a scrape, a watch event, a timer) run between chunks of long work: one
 * scan of a thousand releases is hundreds of milliseconds of CPU.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Paces synchronous work: `turn()` yields to the event loop once `sliceMs` have passed since
 * the last yield, then throws if `signal` was aborted meanwhile. Work that calls it between
 * steps can be interrupted by a timeout, which only fires when the event loop turns.
 */
export class Pacer {
  private readonly signal: AbortSignal | undefined;
  private readonly sliceMs: number;
  private lastYield = performance.now();

  constructor(signal?: AbortSignal, sliceMs = 20) {
    this.signal = signal;
    this.sliceMs = sliceMs;
  }

  async turn(): Promise<void> {
    this.signal?.throwIfAborted();
    if (performance.now() - this.lastYield < this.sliceMs) return;
    await yieldToEventLoop();
    this.lastYield = performance.now();
    this.signal?.throwIfAborted();
  }
}
