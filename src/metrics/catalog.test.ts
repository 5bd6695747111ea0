import { testSnapshot } from "../../test/support/snapshot.ts";
import { BLOCKED_ROLLBACK } from "../../test/support/readiness.ts";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { decodeReleaseNow } from "../helm/decode.ts";
import { analyzeStatus } from "../analysis/status.ts";
import { ALL_METRICS, RUNTIME_METRIC_PREFIXES } from "./catalog.ts";
import { SelfMetrics } from "./self-metrics.ts";
import { renderSnapshot } from "./snapshot-metrics.ts";
import { documentedMetrics, parseExposition } from "../../test/support/metrics-text.ts";

/** Metric names and label names in Prometheus exposition text. */
function exposed(text: string): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const sample of parseExposition(text)) {
    const name = sample.name.replace(/_(bucket|sum|count)$/, "");
    const labels = Object.keys(sample.labels).filter((label) => label !== "le");
    names.set(name, new Set([...(names.get(name) ?? []), ...labels]));
  }
  return names;
}

describe("metric catalogue", () => {
  it("docs/metrics.md documents every metric with its type and labels, and nothing else", () => {
    const documented = documentedMetrics(
      readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8"),
    );
    for (const metric of ALL_METRICS) {
      const doc = documented.get(metric.name);
      assert.ok(doc, `${metric.name} is not documented in docs/metrics.md`);
      assert.equal(doc.type, metric.type, `${metric.name}: documented type`);
      assert.deepEqual(doc.labels, [...metric.labels], `${metric.name}: documented labels`);
    }
    const known = new Set(ALL_METRICS.map((metric) => metric.name));
    for (const name of documented.keys())
      assert.ok(known.has(name), `docs/metrics.md documents unknown ${name}`);
  });

  it("the exporter serves only catalogued metrics, with their catalogued labels", async () => {
    const latest = decodeReleaseNow(encodeRelease(releaseRecord({ revision: 2, status: "failed" })));
    const failing = analyzeStatus({
      namespace: "apps",
      release: "web",
      storage: "secret",
      revisions: [
        { revision: 1, status: "deployed" },
        { revision: 2, status: "failed" },
      ],
      latest,
    });
    const unreadable = analyzeStatus({
      namespace: "apps",
      release: "broken",
      storage: "configmap",
      revisions: [{ revision: 1, status: "deployed", createdAt: new Date() }],
      latest: { ok: false, reason: "gzip", message: "bad" },
    });
    const drifted = {
      ...failing,
      release: "drifted",
      readiness: BLOCKED_ROLLBACK,
      drift: {
        baseRevision: 1,
        baseIsDeployed: true,
        managedResources: 3,
        ignored: { annotation: 0, hpa: 1, manager: 0, rule: 0 },
        resources: [
          {
            resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "c" },
            state: "modified" as const,
            fields: [
              {
                path: "data.a",
                change: "changed" as const,
                declared: "1",
                live: "2",
                sensitive: false,
                managers: ["kubectl-edit"],
              },
            ],
            managers: [{ manager: "kubectl-edit", operation: "Update", time: new Date() }],
            since: new Date(),
          },
        ],
      },
    };
    const hooked = {
      ...failing,
      release: "hooked",
      hooks: {
        orphaned: [
          {
            kind: "Job",
            namespace: "apps",
            name: "migrate",
            reason: "succeeded_not_deleted" as const,
            revision: 1,
            deletePolicies: ["hook-succeeded"],
          },
        ],
        running: [
          {
            kind: "Job",
            namespace: "apps",
            name: "seed",
            revision: 2,
            events: ["post-upgrade"],
            startedAt: new Date(),
            state: "active" as const,
          },
        ],
        leftovers: [{ kind: "ConfigMap", namespace: "apps", name: "old", reason: "leftover" as const }],
        terminating: [
          {
            kind: "ConfigMap",
            namespace: "apps",
            name: "old",
            deletionTimestamp: new Date(0),
            finalizers: ["example.com/hold"],
          },
        ],
      },
    };
    const now = new Date();
    const text =
      (await renderSnapshot(
        testSnapshot({
          startedAt: now,
          finishedAt: now,
          releases: [failing, unreadable, drifted, hooked],
          unreferencedHooks: [{ kind: "Job", namespace: "apps", name: "gone-hook", hook: "post-install" }],
          collectors: [{ name: "releases", success: true, durationSeconds: 0.1, errors: [] }],
        }),
      )) + (await new SelfMetrics().registry.metrics());
    const catalogue = new Map(ALL_METRICS.map((metric) => [metric.name, metric]));
    for (const [name, labels] of exposed(text)) {
      if (RUNTIME_METRIC_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
      const metric = catalogue.get(name);
      assert.ok(metric, `${name} is served but not in the catalogue`);
      for (const label of labels)
        assert.ok(metric.labels.includes(label), `${name} has uncatalogued label ${label}`);
    }
    // Every release metric shows up for this scenario.
    for (const metric of ALL_METRICS.filter((m) => /^helm_(release|orphaned)_/.test(m.name))) {
      assert.ok(exposed(text).has(metric.name), `${metric.name} not served`);
    }
  });
});
