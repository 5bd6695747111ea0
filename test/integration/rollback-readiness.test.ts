/**
 * Rollback readiness, proven against real helm v3.22 and v4.3: every scenario of
 * test/support/rollback-scenarios.ts, in each mode it names, on the real control plane. Each
 * situation is set up with real helm and kubectl; the exporter scans it and records its
 * prediction; then the real `helm rollback` (and `helm upgrade`) run, and must do what the
 * scenario says helm does (the facts docs/rollback.md states) and what the exporter predicted:
 * fail exactly when it said, for the reason it said, with its message in helm's words.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { DEFAULT_DRIFT_OPTIONS } from "../../src/analysis/drift/drift.ts";
import type { ReadinessReport } from "../../src/analysis/rollback/types.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/helm/decode.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { createScanContext } from "../../src/scan/context.ts";
import { scan } from "../../src/scan/scanner.ts";
import { clusterInfo } from "../support/cluster.ts";
import {
  liveValue,
  MODES,
  ROLLBACK_SCENARIOS,
  statusesOf,
  type Expected,
  type ModeName,
  type OperationFacts,
  type Outcome,
  type Scenario,
  type Situation,
} from "../support/rollback-scenarios.ts";
import { RECORDED, recordSituation, saveFixture, wordedAsHelm } from "../support/rollback-fixtures.ts";

/** helm's error (or its success line), on one line: what the facts table in docs/rollback.md quotes. */
function headline(outcome: Outcome): string {
  const error = outcome.output.indexOf("Error: ");
  if (error < 0) return /^.*Happy Helming!.*$/m.exec(outcome.output)?.[0] ?? outcome.output.trim();
  return outcome.output.slice(error).trim().split("\n").filter(Boolean).join(" ⏎ ");
}

function assertOutcome(outcome: Outcome, facts: Omit<OperationFacts, "statuses">, what: string): void {
  const context = `${what}, exit ${String(outcome.exitCode)}:\n${outcome.output}`;
  assert.equal(
    outcome.exitCode === 0,
    facts.succeeds,
    `${what} should ${facts.succeeds ? "succeed" : "fail"}: ${context}`,
  );
  for (const pattern of facts.errors ?? []) assert.match(outcome.output, pattern, context);
}

function assertStatuses(outcome: Outcome, facts: OperationFacts, what: string): void {
  assert.deepEqual(statusesOf(outcome.revisions), facts.statuses, `${what}: revision statuses`);
}

/** A rollback that wrote a revision describes it as helm does: the target, or the failure. */
function assertRollbackRecord(situation: Situation, before: number, outcome: Outcome): void {
  const newest = outcome.revisions.at(-1);
  if (!newest || newest.revision <= before) return;
  const described =
    newest.description === `Rollback to ${String(situation.targetRevision)}` ||
    newest.description.startsWith(`Rollback "${situation.release}" failed: `);
  assert.ok(described, `revision ${String(newest.revision)} description: ${newest.description}`);
}

/** The exporter's prediction: one scan of the situation's namespace, as `scan -n <namespace>` makes it. */
async function predict(situation: Situation): Promise<ReadinessReport> {
  const client = await KubeClient.connect({ kubeconfig: clusterInfo().kubeconfig });
  const context = createScanContext({
    client,
    scope: { include: [situation.namespace], exclude: [] },
    watch: false,
    concurrency: 4,
    driftOptions: DEFAULT_DRIFT_OPTIONS,
    maxDecodedBytes: DEFAULT_DECODE_LIMITS.maxDecodedBytes,
    terminatingAfterMs: 600_000,
    logger: silentLogger,
  });
  try {
    const snapshot = await scan(context);
    const release = snapshot.releases.find((candidate) => candidate.release === situation.release);
    assert.ok(release?.readiness, `the scan reports ${situation.release}'s readiness`);
    return release.readiness;
  } finally {
    context.collections.close();
    client.close();
  }
}

/** The prediction made before anything is attempted: the reason helm's facts give, nothing else. */
function assertPrediction(situation: Situation, expected: Expected, readiness: ReadinessReport): void {
  const { rollback, upgrade } = readiness;
  const detail = JSON.stringify(readiness, null, 2);
  assert.equal(rollback.targetRevision, situation.targetRevision, `target revision: ${detail}`);
  if (expected.rollback.reason === "ready") {
    assert.equal(rollback.ready, true, `predicted ready: ${detail}`);
    assert.deepEqual(rollback.blockers, []);
  } else {
    assert.equal(rollback.ready, false, `predicted blocked: ${detail}`);
    const reasons = [...new Set(rollback.blockers.map((blocker) => blocker.reason))];
    assert.deepEqual(reasons, [expected.rollback.reason], `blocker reasons: ${detail}`);
  }
  if (expected.upgradeBefore) {
    const reasons = upgrade.blockers.map((blocker) => blocker.reason);
    assert.ok(
      reasons.includes(expected.upgradeBefore.reason),
      `upgrade blocked by ${expected.upgradeBefore.reason}: ${detail}`,
    );
  } else assert.equal(upgrade.blocked, false, `upgrade not blocked: ${detail}`);
  PREDICTED_EXTRAS[situation.scenario]?.(situation, readiness);
}

/** What the exporter adds to some predictions: the hand-made changes a rollback loses, objects it takes. */
const PREDICTED_EXTRAS: Readonly<Record<string, (situation: Situation, readiness: ReadinessReport) => void>> =
  {
    "ready/drift-reverted": (_situation, { rollback }) => {
      const reverted = rollback.reverted.map(
        (field) => `${field.object.kind}/${field.object.name} ${field.path} by ${field.managers.join(",")}`,
      );
      const has = (pattern: RegExp) => {
        assert.ok(
          reverted.some((line) => pattern.test(line)),
          `${String(pattern)} in ${reverted.join("; ")}`,
        );
      };
      has(/^Deployment\/app-web spec\.replicas by kubectl$/);
      has(/^Deployment\/app-web spec\.template\.spec\.containers.*\.image by kubectl-edit$/);
      has(/^ConfigMap\/app-locked data\.value by kubectl-patch$/);
      // A custom resource gets a two-way patch of the manifests: its hand-made value is kept.
      assert.ok(!reverted.some((line) => line.startsWith("Widget/")), reverted.join("; "));
    },
    "ownership/recreated-by-hand": (situation, { rollback }) => {
      if (situation.mode.applyMethod === "ssa") return;
      assert.deepEqual(
        rollback.takenOver.map(({ object, owner }) => `${object.kind}/${object.name} from ${owner}`),
        ["ConfigMap/app-extra from nobody (made by hand)"],
      );
    },
    "ownership/owned-by-another-release": (situation, { rollback }) => {
      assert.deepEqual(
        rollback.takenOver.map(({ object, owner }) => `${object.kind}/${object.name} from ${owner}`),
        [`ConfigMap/shared from ${situation.namespace}/other`],
      );
    },
  };

function assertWorded(readiness: ReadinessReport, expected: Expected, rollback: Outcome): void {
  if (expected.rollback.reason === "ready" || expected.rollback.succeeds || expected.helmWordsDiffer) return;
  for (const blocker of readiness.rollback.blockers)
    assert.ok(
      wordedAsHelm(blocker.message, rollback.output),
      `the predicted message is helm's:\n  predicted: ${blocker.message}\n  helm said: ${rollback.output}`,
    );
}

/** Set to record the RECORDED scenarios as fixtures for the analysis' unit tests (test/fixtures/rollback). */
const RECORD_FIXTURES = process.env.RECORD_ROLLBACK_FIXTURES === "1";

async function proveScenario(t: TestContext, scenario: Scenario, mode: ModeName, expected: Expected) {
  const situation = await scenario.setup(MODES[mode]);
  const highest = situation.targetRevision + 1;

  const readiness = await predict(situation);
  t.diagnostic(
    `predicted: ${readiness.rollback.ready ? "ready" : readiness.rollback.blockers.map((b) => `${b.reason}: ${b.message}`).join(" | ")}`,
  );
  assertPrediction(situation, expected, readiness);
  const recording = RECORD_FIXTURES && RECORDED.includes(`${scenario.name} [${mode}]`);
  const recorded = recording ? await recordSituation(situation) : undefined;

  if (expected.upgradeBefore) {
    const refused = await scenario.attempt(situation, { kind: "upgrade" });
    assertOutcome(refused, expected.upgradeBefore, "upgrade before the rollback");
    assertStatuses(refused, expected.upgradeBefore, "upgrade before the rollback");
    t.diagnostic(`upgrade before: ${headline(refused)}`);
  }

  for (const fact of expected.liveBefore?.(situation) ?? [])
    assert.equal(
      await liveValue(situation, fact),
      fact.value,
      `before: ${fact.resource} ${fact.jsonPath}: ${fact.why}`,
    );

  const rollback = await scenario.attempt(situation);
  assertOutcome(rollback, expected.rollback, "rollback");
  if (recorded) saveFixture(recorded, expected, rollback);
  assertWorded(readiness, expected, rollback);
  assertStatuses(rollback, expected.rollback, "rollback");
  assertRollbackRecord(situation, highest, rollback);
  t.diagnostic(`rollback to ${String(situation.targetRevision)}: ${headline(rollback)}`);

  for (const fact of expected.live?.(situation) ?? [])
    assert.equal(
      await liveValue(situation, fact),
      fact.value,
      `${fact.resource} ${fact.jsonPath}: ${fact.why}`,
    );

  const after = await scenario.attempt(situation, { kind: "upgrade" });
  assertOutcome(after, expected.upgradeAfter, "upgrade after the rollback");
  t.diagnostic(`upgrade after: ${headline(after)}`);
}

describe(
  "rollback readiness: the exporter's prediction, then what real helm does",
  { concurrency: 6 },
  () => {
    for (const scenario of ROLLBACK_SCENARIOS) {
      for (const [mode, expected] of Object.entries(scenario.expected) as [ModeName, Expected][]) {
        it(`${scenario.name} [${mode}]`, (t) => proveScenario(t, scenario, mode, expected));
      }
    }
  },
);
