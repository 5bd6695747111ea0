/**
 * The last results of each release, kept across scans, so that a scan that cannot see a
 * release (its storage could not be listed, its record could not be fetched) serves what was
 * last known of it, marked stale, instead of dropping it: a release that could not be seen
 * is unknown, never gone, and alerts on it must not resolve because the API is down.
 */
import { releaseKey } from "../../model/refs.ts";
import type { ReleaseFindings } from "../../report/snapshot.ts";

/** Why releases were not seen, by `namespace/release`, `namespace/*` (a namespace) or `*` (all). */
export type Unseen = ReadonlyMap<string, string>;

export class ReleaseMemory {
  private readonly last = new Map<string, { readonly report: ReleaseFindings; readonly seenAt: Date }>();

  /** The remembered releases this scan did not see (`seen` holds those it did), marked stale. */
  carry(unseen: Unseen, seen: ReadonlySet<string>): ReleaseFindings[] {
    const carried: ReleaseFindings[] = [];
    for (const [key, { report, seenAt }] of this.last) {
      if (seen.has(key)) continue;
      const reason = unseen.get(key) ?? unseen.get(`${report.namespace}/*`) ?? unseen.get("*");
      if (reason !== undefined) carried.push({ ...report, stale: { since: seenAt, reason } });
    }
    return carried;
  }

  /** Remembers the releases a scan saw, and forgets those it knows are gone. */
  remember(
    seen: readonly ReleaseFindings[],
    now: Date,
    isGone: (namespace: string, release: string) => boolean,
  ): void {
    for (const report of seen) this.last.set(releaseKey(report), { report, seenAt: now });
    for (const [key, { report }] of this.last)
      if (isGone(report.namespace, report.release)) this.last.delete(key);
  }
}
