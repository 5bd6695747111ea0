import { testSnapshot } from "../../test/support/snapshot.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DriftReport } from "../analysis/drift/drift.ts";
import type { ReadinessReport } from "../analysis/rollback/types.ts";
import { analyzeStatus } from "../analysis/status.ts";
import { decodeReleaseNow } from "../helm/decode.ts";
import {
  BLOCKED_ROLLBACK,
  READY_ROLLBACK,
  shopRelease,
  STUCK_INSTALL,
} from "../../test/support/readiness.ts";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { renderTable } from "./table.ts";

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/;

describe("scan table", () => {
  it("prints what a release record says escaped, never as terminal control or extra lines", () => {
    const record = releaseRecord({ status: "failed" });
    (record.info as Record<string, unknown>).description =
      "oops\u001b[2J\u001b[31m\nweb  1  deployed  fake row\u202e";
    (record.chart as { metadata: Record<string, unknown> }).metadata.name = "web\rX\u0007";
    const report = analyzeStatus({
      namespace: "apps",
      release: "web",
      storage: "secret",
      revisions: [{ revision: 1, status: "failed" }],
      latest: decodeReleaseNow(encodeRelease(record)),
    });
    const text = renderTable(testSnapshot({ releases: [report] }));
    assert.doesNotMatch(text, CONTROL_BUT_NEWLINE, "no control character but newlines");
    assert.ok(!text.split("\n").some((line) => line.startsWith("web  1")), "no injected line");
    assert.match(text, /oops\\x1b\[2J\\x1b\[31m\\nweb {2}1 {2}deployed {2}fake row\\u202e/);
    assert.match(text, /web\\rX\\x07-/);
  });
});

/** The table's cells by release and column header (columns are three or more spaces apart). */
function cells(text: string): Map<string, Record<string, string>> {
  const [header = "", ...rows] = text.split("\n\n")[0]?.split("\n") ?? [];
  const columns = header.split(/ {3,}/);
  return new Map(
    rows.map((row) => {
      const values = row.split(/ {3,}/);
      const byColumn = Object.fromEntries(columns.map((column, index) => [column, values[index] ?? ""]));
      return [byColumn.RELEASE ?? "", byColumn];
    }),
  );
}

const UNCHECKED_ONLY: ReadinessReport = {
  ...BLOCKED_ROLLBACK,
  rollback: {
    ...BLOCKED_ROLLBACK.rollback,
    blockers: BLOCKED_ROLLBACK.rollback.blockers.filter((blocker) => blocker.reason === "unchecked"),
  },
};

describe("scan table: ROLLBACK", () => {
  it("says ready, blocked with the reasons, unknown when only unchecked, no earlier revision, and - when not checked", () => {
    const text = renderTable(
      testSnapshot({
        releases: [
          shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK),
          shopRelease("search", ["superseded", "superseded", "deployed"], READY_ROLLBACK),
          shopRelease("queue", ["pending-install"], STUCK_INSTALL),
          shopRelease("cart", ["superseded", "deployed"], UNCHECKED_ONLY),
          shopRelease("billing", ["deployed"]),
        ],
      }),
    );
    const table = cells(text);
    assert.match(text, /^NAMESPACE +RELEASE +REVISION +STATUS +DEPLOYED +FAILED +DRIFT +ROLLBACK +CHART/);
    const rollback = (name: string) => table.get(name)?.ROLLBACK;
    assert.equal(rollback("checkout"), "blocked (ssa_conflict, unchecked)", "each reason once");
    assert.equal(rollback("search"), "ready");
    assert.equal(
      rollback("queue"),
      "no earlier revision",
      "one stored revision: nothing to roll back to, by design",
    );
    assert.equal(rollback("cart"), "unknown (unchecked)", "could not check is not blocked");
    assert.equal(rollback("billing"), "-");
    assert.equal(table.get("search")?.CHART, "web-1.2.3", "the columns after it stay in place");
  });

  it("prints Helm's error for a blocked rollback escaped under Needs attention", () => {
    const injected: ReadinessReport = {
      ...STUCK_INSTALL,
      rollback: {
        ...STUCK_INSTALL.rollback,
        blockers: [
          {
            reason: "hook_conflict",
            message: 'configmaps "hook\u001b[2J" already exists\nshop   fake   1   deployed',
            leaves: "pending-rollback",
          },
        ],
      },
    };
    const text = renderTable(
      testSnapshot({ releases: [shopRelease("queue", ["pending-install"], injected)] }),
    );
    assert.doesNotMatch(text, CONTROL_BUT_NEWLINE);
    assert.ok(!text.split("\n").some((line) => line.startsWith("shop   fake")), "no injected line");
    assert.match(text, /hook_conflict: configmaps "hook\\x1b\[2J" already exists\\nshop/);
  });

  it("leaves scan --diff as it was", () => {
    const drift: DriftReport = {
      baseRevision: 2,
      baseIsDeployed: true,
      managedResources: 1,
      ignored: { annotation: 0, hpa: 0, manager: 0, rule: 0 },
      resources: [
        {
          resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "settings" },
          state: "modified",
          fields: [
            {
              path: "data.mode",
              change: "changed",
              declared: "a",
              live: "b",
              sensitive: false,
              managers: [],
            },
          ],
          managers: [{ manager: "kubectl-patch", operation: "Update" }],
        },
      ],
    };
    const diffOf = (readiness?: ReadinessReport) => {
      const text = renderTable(
        testSnapshot({
          releases: [{ ...shopRelease("checkout", ["superseded", "deployed"], readiness), drift }],
        }),
        { diff: true },
      );
      return text.slice(text.indexOf("shop/checkout revision 2: ConfigMap"));
    };
    assert.match(
      diffOf(),
      /^shop\/checkout revision 2: ConfigMap shop\/settings modified by kubectl-patch\n/,
    );
    assert.equal(diffOf(BLOCKED_ROLLBACK), diffOf());
  });
});
