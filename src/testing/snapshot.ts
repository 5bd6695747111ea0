/** Test fixtures: a scan's snapshot with plain defaults, and only what a test cares about given. */
import { freezeSnapshot, type Snapshot } from "../scan/snapshot.ts";

export const FIXTURE_TIME = new Date("2026-11-24T10:00:00Z");

export function testSnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  const outcome = overrides.outcome ?? "success";
  return freezeSnapshot({
    startedAt: FIXTURE_TIME,
    finishedAt: FIXTURE_TIME,
    durationSeconds: 0,
    success: outcome === "success",
    outcome,
    dataAgeSeconds: 0,
    releases: [],
    unreferencedHooks: [],
    goneReleases: [],
    collectors: [],
    ...overrides,
  });
}
