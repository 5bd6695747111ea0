/** Test fixtures: a scan's snapshot with plain defaults, and only what a test cares about given. */
import {
  completeSnapshot,
  releaseReport,
  type ReleaseFindings,
  type Snapshot,
  type SnapshotParts,
} from "../../src/report/snapshot.ts";

export const FIXTURE_TIME = new Date("2026-11-24T10:00:00Z");

/** A snapshot of these findings (each release's report completed), the rest defaults. */
export function testSnapshot(
  overrides: Omit<Partial<SnapshotParts>, "releases"> & {
    readonly releases?: readonly ReleaseFindings[];
  } = {},
): Snapshot {
  const { releases = [], ...parts } = overrides;
  return completeSnapshot({
    startedAt: FIXTURE_TIME,
    finishedAt: FIXTURE_TIME,
    outcome: "success",
    dataAgeSeconds: 0,
    unreferencedHooks: [],
    goneReleases: [],
    collectors: [],
    ...parts,
    releases: releases.map(releaseReport),
  });
}
