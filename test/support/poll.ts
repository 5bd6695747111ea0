/**
 * Long enough that only a hang reaches it, never a slow machine: a poll waits for something
 * that will happen, and a test asserts what happened, not how fast.
 */
export const POLL_TIMEOUT_MS = 5 * 60_000;

/** Polls `probe` until it returns a value (not undefined); throws naming `what` after the timeout. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = POLL_TIMEOUT_MS,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The probe's value, or undefined when it throws (the thing does not exist yet). */
export async function orUndefined<T>(probe: () => Promise<T>): Promise<T | undefined> {
  try {
    return await probe();
  } catch {
    return undefined;
  }
}
