import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseExposition } from "../../test/support/metrics-text.ts";
import { preparePublication } from "../serve/publication.ts";
import { completeSnapshot } from "../report/snapshot.ts";
import { wholeMatch } from "../util/text.ts";
import { excludedMetrics, FILTERABLE_METRICS, unmatchedPatterns } from "./metric-filter.ts";
import { renderSnapshot } from "./snapshot-metrics.ts";

describe("metric allow and deny lists", () => {
  it("match whole names: a name is not a prefix, unlike kube-state-metrics", () => {
    const hidden = excludedMetrics({ allow: ["helm_release_status", "helm_release_drift.*"], deny: [] });
    const shown = FILTERABLE_METRICS.filter((name) => !hidden.has(name));
    assert.deepEqual(
      shown.sort(),
      [
        "helm_release_drift_base_revision",
        "helm_release_drift_manager_resources",
        "helm_release_drift_since_timestamp_seconds",
        "helm_release_drifted_resources",
        "helm_release_drifted_fields",
        "helm_release_status",
      ].sort(),
    );
    assert.deepEqual(
      [...excludedMetrics({ allow: [], deny: ["helm_release_info"] })],
      ["helm_release_info"],
      "helm_release_info only, not every name that contains it",
    );
  });

  it("never touch the exporter's own metrics, and hide nothing without a list", () => {
    assert.equal(excludedMetrics({ allow: [], deny: [] }).size, 0);
    const hidden = excludedMetrics({ allow: [], deny: [".*"] });
    assert.equal(hidden.size, FILTERABLE_METRICS.length);
    assert.ok(![...hidden].some((name) => name.startsWith("helm_drift_exporter_")));
  });

  it("tell a pattern that matches nothing they apply to, and a regex that does not compile", () => {
    assert.deepEqual(
      unmatchedPatterns({
        allow: ["helm_release_.*", "helm_drift_exporter_.*", "helm_relase_status"],
        deny: [],
      }),
      ["helm_drift_exporter_.*", "helm_relase_status"],
    );
    assert.equal(typeof wholeMatch("helm_(release"), "string");
    assert.ok(wholeMatch("helm_release_(status|info)") instanceof RegExp);
  });

  it("leave hidden metrics out of the exposition built once per scan, and the rest as it was", async () => {
    const snapshot = completeSnapshot({
      startedAt: new Date(0),
      finishedAt: new Date(1000),
      outcome: "success",
      dataAgeSeconds: 0,
      releases: [],
      unreferencedHooks: [{ kind: "Job", namespace: "apps", name: "old-hook", hook: "post-install" }],
      goneReleases: [],
      collectors: [{ name: "releases", success: true, durationSeconds: 1, errors: [] }],
    });
    const names = (text: string) => new Set(parseExposition(text).map((sample) => sample.name));
    const all = names(await renderSnapshot(snapshot));
    const hidden = excludedMetrics({ allow: [], deny: ["helm_orphaned_hook_resources"] });
    const published = await preparePublication(snapshot, hidden);
    const shown = names(published.metricsBody.toString("utf8"));
    assert.ok(all.has("helm_orphaned_hook_resources"));
    assert.ok(!shown.has("helm_orphaned_hook_resources"));
    assert.deepEqual(shown, new Set([...all].filter((name) => name !== "helm_orphaned_hook_resources")));
  });
});
