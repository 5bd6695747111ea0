/**
 * What real helm v3.22 and v4.3 do on `helm rollback` (and `helm upgrade`) in each situation
 * the exporter predicts: every scenario of test/support/rollback-scenarios.ts, in each mode it
 * names, against the real control plane. These are the facts docs/rollback.md states; the
 * exporter's predictions are proven against the same scenarios.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
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

async function proveScenario(t: TestContext, scenario: Scenario, mode: ModeName, expected: Expected) {
  const situation = await scenario.setup(MODES[mode]);
  const highest = situation.targetRevision + 1;

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

describe("helm rollback and upgrade, as real helm does them", { concurrency: 6 }, () => {
  for (const scenario of ROLLBACK_SCENARIOS) {
    for (const [mode, expected] of Object.entries(scenario.expected) as [ModeName, Expected][]) {
      it(`${scenario.name} [${mode}]`, (t) => proveScenario(t, scenario, mode, expected));
    }
  }
});
