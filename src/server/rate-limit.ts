/**
 * exporter-toolkit's `rate_limit`: golang.org/x/time/rate's token bucket, which starts full with
 * `burst` tokens and gains one per `interval`; a request without a token is answered 429.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(limit: { readonly intervalMs: number; readonly burst: number }, now = performance.now()) {
    this.#intervalMs = limit.intervalMs;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#at = now;
  }

  /** Takes a token if one is there (never waits): rate.Limiter's Allow(). */
  allow(now = performance.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#at) / this.#intervalMs);
    this.#at = Math.max(this.#at, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
