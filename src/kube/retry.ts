/**
 * When a read of the API server is tried again, after how long. Modelled on client-go's
 * rest.Request (with_retry.go): at most 10 retries, 429 and 5xx retried with the server's
 * `Retry-After` (whole seconds) as the least wait, and a connection reset or refused retried
 * for a GET. Two differences, both for an exporter that only reads: a 429/5xx without
 * `Retry-After` is retried too (a proxy or load balancer in front of the apiserver answers
 * 502/503/504 without one), and the wait between attempts grows exponentially with jitter,
 * so many readers failing together do not come back together. A timeout is never retried:
 * a black-holed connection must fail in bounded time, not ten times over.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPolicy {
  /** Retries after the first attempt (client-go: 10). */
  readonly maxRetries: number;
  /** The first backoff; each retry doubles it, up to `maxDelayMs`. Each wait is 50-100% of it. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * The longest Retry-After honoured; a server asking for more is not retried (never sooner
   * than it asked). 32 s is API Priority and Fairness' largest; the watch cache's is 30 s.
   */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 10,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 32_000,
};

/** What one attempt ended with: an HTTP status (with its Retry-After), or a transport error. */
export type AttemptOutcome =
  { readonly status: number; readonly retryAfter?: string | undefined } | { readonly error: unknown };

/** Transport errors that mean "the connection went away", worth another try of an idempotent read. */
const RETRYABLE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "EAI_AGAIN"]);

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

export function isRetryableTransportError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && RETRYABLE_CODES.has(code);
}

/** Retry-After as client-go reads it: a whole number of seconds, else none. */
function retryAfterMs(header: string | undefined): number | undefined {
  return header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}

/**
 * How long to wait before retry number `retry` (1 for the first retry) after `outcome`, or
 * undefined when the read must not be retried.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  outcome: AttemptOutcome,
  random: () => number = Math.random,
): number | undefined {
  if (retry > policy.maxRetries) return undefined;
  let serverWait = 0;
  if ("status" in outcome) {
    if (!isRetryableStatus(outcome.status)) return undefined;
    const asked = retryAfterMs(outcome.retryAfter);
    if (asked !== undefined && asked > policy.maxRetryAfterMs) return undefined;
    serverWait = asked ?? 0;
  } else if (!isRetryableTransportError(outcome.error)) {
    return undefined;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const backoff = ceiling * (0.5 + random() / 2);
  return Math.max(serverWait, backoff);
}

/** Waits, or rejects as soon as the signal aborts (an AbortError whose cause is the signal's reason, as an aborted request). */
export async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await sleep(ms, undefined, signal && { signal });
}
