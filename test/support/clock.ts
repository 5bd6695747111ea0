import assert from "node:assert/strict";

/**
 * Asserts that a timestamp the cluster or Helm wrote lies between two instants the test took
 * (`Date.now()` before the action and after it): an ordering, which a slow machine cannot break,
 * where "within N seconds of now" can. Compared to the second: Kubernetes writes whole seconds,
 * and the bench's fast path moves Helm's times by whole seconds, keeping their fractions.
 */
export function assertWrittenBetween(
  timestamp: string | null | undefined,
  from: number,
  to: number,
  what: string,
): void {
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  const written = second(Date.parse(timestamp ?? ""));
  const window = `${new Date(from).toISOString()} .. ${new Date(to).toISOString()}`;
  assert.ok(
    written >= second(from) && written <= to,
    `${what}: ${String(timestamp)} is not within ${window}`,
  );
}
