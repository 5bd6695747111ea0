/**
 * `diagnose <release> -n <namespace>` on real scenarios made with real helm v3 and v4: the
 * command as a person runs it (a process, no terminal: no colour), its exit code and what it
 * says; `--revision N` checked against the real `helm rollback <release> N`; what it costs the
 * apiserver. With RECORD_FIXTURES=1 it records each scenario's report for the golden tests of
 * the rendering (src/output/diagnose.test.ts).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it, type TestContext } from "node:test";
import { DEFAULT_DRIFT_OPTIONS } from "../../src/analysis/drift/drift.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/helm/decode.ts";
import { KubeClient, type RequestObserver } from "../../src/kube/client.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { createScanContext, type ScanFocus } from "../../src/scan/context.ts";
import { scan } from "../../src/scan/scanner.ts";
import { writeDiagnoseFixture } from "../support/diagnose-fixtures.ts";
import { clusterInfo, createNamespace, kubeConfig, run } from "../support/cluster.ts";
import { fixtureChart, helm } from "../support/helm.ts";
import { createJobPods } from "../support/kubelet.ts";
import { MODES, ROLLBACK_SCENARIOS, type ModeName, type Situation } from "../support/rollback-scenarios.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command as installed: a process with the kubeconfig, its stdout a pipe (no colour). */
function diagnoseCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "src/cli/main.ts"), "diagnose", ...args, "--log.level=warn"],
      { env: { ...process.env, KUBECONFIG: clusterInfo().kubeconfig, ...env }, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === "number" ? error.code : error ? -1 : 0;
        resolve({ exitCode: code, stdout, stderr });
      },
    );
  });
}

class Counter implements RequestObserver {
  readonly requests: string[] = [];
  observe(request: { verb: string; resource: string }): void {
    this.requests.push(`${request.verb} ${request.resource}`);
  }
  watching(): void {
    // watches are not requests: a one-shot diagnose opens none
  }
}

/** diagnose's scan, in process: the snapshot, the release's report, and the requests it made. */
async function focusedScan(namespace: string, release: string, rollbackTarget?: number) {
  const counter = new Counter();
  const { context, close } = await scanContext(namespace, counter, {
    release,
    ...(rollbackTarget !== undefined && { rollbackTarget }),
  });
  try {
    const started = performance.now();
    const snapshot = await scan(context);
    const millis = performance.now() - started;
    const report = snapshot.releases.find((candidate) => candidate.release === release);
    assert.ok(report, `the scan reports ${release}`);
    return { snapshot, report, requests: counter.requests, millis };
  } finally {
    close();
  }
}

/** A one-shot scan's context in one namespace, as the CLI sets it up; `focus` as diagnose does. */
async function scanContext(namespace: string, counter: Counter, focus?: ScanFocus) {
  const client = await KubeClient.connect({ kubeconfig: clusterInfo().kubeconfig }, counter);
  const context = createScanContext({
    client,
    scope: { include: [namespace], exclude: [] },
    watch: false,
    concurrency: 8,
    driftOptions: DEFAULT_DRIFT_OPTIONS,
    maxDecodedBytes: DEFAULT_DECODE_LIMITS.maxDecodedBytes,
    terminatingAfterMs: 600_000,
    logger: silentLogger,
    ...(focus && { focus }),
  });
  return {
    context,
    close: () => {
      context.collections.close();
      client.close();
    },
  };
}

/** Records the report for the golden tests when asked to (RECORD_FIXTURES=1). */
async function record(name: string, namespace: string, release: string): Promise<void> {
  if (process.env.RECORD_FIXTURES !== "1") return;
  const { snapshot, report } = await focusedScan(namespace, release);
  writeDiagnoseFixture(name, { snapshot, report });
}

function scenarioNamed(name: string) {
  const found = ROLLBACK_SCENARIOS.find((candidate) => candidate.name === name);
  assert.ok(found, name);
  return found;
}

async function setUp(name: string, mode: ModeName): Promise<Situation> {
  return scenarioNamed(name).setup(MODES[mode]);
}

function diagnoseSituation(situation: Situation, extra: readonly string[] = []): Promise<Run> {
  return diagnoseCli([situation.release, "-n", situation.namespace, ...extra]);
}

function logRun(t: TestContext, result: Run): void {
  t.diagnostic(`exit ${String(result.exitCode)}\n${result.stdout}${result.stderr}`);
}

/** The verdict is the second line; a section's lines follow its title up to the next blank title. */
function verdict(output: string): string {
  return output.split("\n")[1] ?? "";
}

function sectionOf(output: string, title: string): string {
  const start = output.indexOf(`\n${title}\n`);
  assert.ok(start >= 0, `section ${title} in:\n${output}`);
  const rest = output.slice(start + title.length + 2);
  const end = rest.search(/\n\n[A-Z][a-z]/);
  return end < 0 ? rest : rest.slice(0, end);
}

describe("diagnose", { concurrency: 2 }, () => {
  for (const mode of ["v3", "v4-ssa"] as const) {
    it(`a stuck pending-upgrade whose hook Job is still active: wait, do not act (${mode})`, async (t) => {
      const situation = await setUp("pending/stuck-pending-upgrade", mode);
      await createJobPods(kubeConfig(), situation.namespace, "app-migrate", [
        { suffix: "r5t8w", phase: "Running" },
      ]);
      const result = await diagnoseSituation(situation);
      logRun(t, result);
      assert.equal(result.exitCode, 1, "needs attention");
      assert.match(
        verdict(result.stdout),
        /^NEEDS ATTENTION: pending-upgrade, and a hook is still active: wait/,
      );
      const status = sectionOf(result.stdout, "Status and lock");
      assert.match(status, /pending-upgrade for \d+s/);
      assert.match(status, /hook Job .*app-migrate .*still active: .*wait, do not act/);
      const steps = sectionOf(result.stdout, "Next steps");
      assert.match(steps, /^ {2}1\. Wait: the hook is still running/m);
      assert.match(steps, /kubectl -n \S+ get job app-migrate --watch/);
      assert.doesNotMatch(steps, /helm rollback/, "no rollback while the hook is at work");
      const hooks = sectionOf(result.stdout, "Hooks");
      assert.match(
        hooks,
        /^ {4}delete policy before-hook-creation: .*the next operation that runs this hook deletes it/m,
      );
      assert.match(hooks, /^ {4}no conditions yet/m);
      assert.match(hooks, /^ {4}1 pod:\n {6}pod app-migrate-r5t8w Running$/m);
      await record(`pending-upgrade-active-hook-${mode}`, situation.namespace, situation.release);
    });
  }

  for (const major of ["v3", "v4"] as const) {
    it(`a drifted release: a multi-line ConfigMap change as a line diff, who made it (helm ${major})`, async (t) => {
      const namespace = await createNamespace(`diag-drift-${major}`);
      const greeting = ["server:", "  port: 8080", "  workers: 4", "  timeout: 30s", "log: info", ""].join(
        "\n",
      );
      await helm(major, [
        "install",
        "web",
        fixtureChart("rollback"),
        "-n",
        namespace,
        "--set-string",
        `greeting=${greeting}`,
      ]);
      const edited = greeting.replace("workers: 4", "workers: 16");
      await run("kubectl", [
        "-n",
        namespace,
        "patch",
        "configmap",
        "web-config",
        "--type=merge",
        "-p",
        JSON.stringify({ data: { greeting: edited } }),
      ]);
      const result = await diagnoseCli(["web", "-n", namespace]);
      logRun(t, result);
      assert.equal(result.exitCode, 1);
      const drift = sectionOf(result.stdout, "Drift");
      assert.match(drift, /ConfigMap \S+\/web-config modified by kubectl-patch at /);
      assert.match(drift, /@@ -1,5 \+1,5 @@/);
      assert.match(drift, /^ +- {3}workers: 4$/m);
      assert.match(drift, /^ +\+ {3}workers: 16$/m);
      assert.match(drift, /^ +  {3}port: 8080$/m, "context lines");
      assert.ok(!result.stdout.includes("\u001b["), "no colour when piped");
      await record(`drift-multiline-${major}`, namespace, "web");
    });
  }

  for (const mode of ["v3", "v4-ssa"] as const) {
    it(`a failed hook: the Job's conditions and Pods, what its policy means, reading its logs before deleting it (${mode})`, async (t) => {
      const scenario = scenarioNamed("runtime/pre-rollback-job-fails");
      const situation = await scenario.setup(MODES[mode]);
      const outcome = await scenario.attempt(situation);
      assert.notEqual(outcome.exitCode, 0, "the real rollback failed on its hook");
      // The Pods the job controller would have made (the test plane has none), oldest first.
      await createJobPods(kubeConfig(), situation.namespace, "app-job-hook", [
        { suffix: "k7m2x", phase: "Failed", terminated: { reason: "OOMKilled", exitCode: 137 } },
        { suffix: "p9d4q", phase: "Failed", terminated: { reason: "Error", exitCode: 1 } },
      ]);
      const result = await diagnoseSituation(situation);
      logRun(t, result);
      assert.equal(result.exitCode, 1);
      assert.match(sectionOf(result.stdout, "Status and lock"), /pending-rollback/);
      const hooks = sectionOf(result.stdout, "Hooks");
      assert.match(hooks, /Job \S+\/app-job-hook/);
      assert.match(
        hooks,
        /^ {4}delete policy before-hook-creation: .*a run that fails leaves it for inspection until deleted; the next operation that runs this hook deletes it/m,
      );
      assert.match(
        hooks,
        /^ {4}condition Failed=True \(BackoffLimitExceeded\) since \S+: Job has reached the specified backoff limit$/m,
      );
      assert.match(
        hooks,
        /^ {4}2 pods:\n {6}pod app-job-hook-p9d4q Failed: container check terminated Error, exit code 1\n {6}pod app-job-hook-k7m2x Failed: container check terminated OOMKilled, exit code 137$/m,
        "newest first",
      );
      const json = await diagnoseSituation(situation, ["-o", "json"]);
      const parsed = JSON.parse(json.stdout) as {
        release: {
          hooks: {
            running: {
              name: string;
              deletePolicies: string[];
              nextOperation: string;
              job: {
                conditions: { type: string; reason: string }[];
                pods: {
                  total: number;
                  newest: { name: string; terminations: { reason: string; exitCode: number }[] }[];
                };
              };
            }[];
          };
        };
      };
      const [hook] = parsed.release.hooks.running;
      assert.ok(hook);
      assert.deepEqual(hook.deletePolicies, ["before-hook-creation"]);
      assert.match(hook.nextOperation, /deletes it and waits until it is gone/);
      assert.ok(
        hook.job.conditions.some(
          (condition) => condition.type === "Failed" && condition.reason === "BackoffLimitExceeded",
        ),
      );
      assert.equal(hook.job.pods.total, 2);
      assert.deepEqual(
        hook.job.pods.newest.map((pod) => [
          pod.name,
          pod.terminations.map((end) => [end.reason, end.exitCode]),
        ]),
        [
          ["app-job-hook-p9d4q", [["Error", 1]]],
          ["app-job-hook-k7m2x", [["OOMKilled", 137]]],
        ],
      );
      const { requests } = await focusedScan(situation.namespace, situation.release);
      t.diagnostic(
        `diagnose of a release with a failed hook Job: ${String(requests.length)} requests: ${[...requests].sort().join(", ")}`,
      );
      // The hook kinds' metadata-only list of Pods, and the one list of the hook Job's Pods.
      assert.equal(requests.filter((request) => request === "list pods").length, 2);
      const steps = sectionOf(result.stdout, "Next steps");
      const logs = steps.indexOf("logs job/app-job-hook");
      const deletion = steps.indexOf("delete job app-job-hook");
      assert.ok(logs >= 0, "read its logs");
      if (deletion >= 0) {
        assert.ok(logs < deletion, "reading comes before deleting");
        assert.match(steps, /this deletes that Job and its Pods/);
      }
      await record(`failed-hook-${mode}`, situation.namespace, situation.release);
    });
  }

  for (const mode of ["v3", "v4-ssa"] as const) {
    it(`a blocked rollback: helm's error, the last good revision to check, and --revision N as real helm does it (${mode})`, async (t) => {
      const scenario = scenarioNamed("target_failed/apiserver-refused-an-object");
      const situation = await scenario.setup(MODES[mode]);
      const bare = await diagnoseSituation(situation);
      logRun(t, bare);
      assert.equal(bare.exitCode, 1);
      const readiness = sectionOf(bare.stdout, "Rollback readiness");
      assert.match(readiness, /helm rollback app to revision 2 \(failed\).*: WOULD FAIL/);
      assert.match(readiness, /target_failed/);
      assert.match(readiness, /Error: failed to create resource: .*ConfigMap "app_Invalid" is invalid/);
      const steps = sectionOf(bare.stdout, "Next steps");
      assert.match(
        steps,
        new RegExp(`helm-drift-exporter diagnose app -n ${situation.namespace} --revision 1`),
      );
      assert.match(steps, new RegExp(`helm rollback app 1 -n ${situation.namespace}`));
      await record(`blocked-rollback-${mode}`, situation.namespace, situation.release);

      const named = await diagnoseSituation(situation, ["--revision", "1"]);
      logRun(t, named);
      assert.match(
        sectionOf(named.stdout, "Rollback readiness"),
        /helm rollback app to revision 1 \(superseded\).*: would succeed/,
      );
      const outcome = await scenario.attempt(situation, { kind: "rollback", revision: 1 });
      assert.equal(
        outcome.exitCode,
        0,
        `the real helm rollback app 1 succeeds as predicted:\n${outcome.output}`,
      );
    });
  }

  it("a named revision that does not exist: helm's error, as helm rollback <release> N prints it", async () => {
    const situation = await setUp("ready/several-revisions", "v3");
    const result = await diagnoseSituation(situation, ["--revision", "99"]);
    assert.equal(result.exitCode, 1);
    assert.match(result.stdout, /Error: release has no 99 version/);
    const outcome = await scenarioNamed("ready/several-revisions").attempt(situation, {
      kind: "rollback",
      revision: 99,
    });
    assert.notEqual(outcome.exitCode, 0);
    assert.match(outcome.output, /Error: release has no 99 version/);
  });

  it("no such release: exit 2, and the releases that are there", async () => {
    const namespace = await createNamespace("diag-none");
    await helm("v3", ["install", "alpha", fixtureChart("smoke"), "-n", namespace]);
    await helm("v4", ["install", "beta", fixtureChart("smoke"), "-n", namespace, "--set", "greeting=b"]);
    const result = await diagnoseCli(["gamma", "-n", namespace]);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`No release gamma in namespace ${namespace}\\.`));
    assert.match(result.stderr, /Releases in namespace \S+: alpha, beta/);
    const empty = await createNamespace("diag-empty");
    const none = await diagnoseCli(["gamma", "-n", empty]);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /has no Helm releases/);
  });

  it("a healthy release exits 0; -o json carries the verdict, full history and next steps", async () => {
    const namespace = await createNamespace("diag-ok");
    await helm("v4", ["install", "ok", fixtureChart("rollback"), "-n", namespace]);
    await helm("v4", ["upgrade", "ok", fixtureChart("rollback"), "-n", namespace, "--set", "greeting=two"]);
    const text = await diagnoseCli(["ok", "-n", namespace]);
    assert.equal(text.exitCode, 0, text.stdout + text.stderr);
    assert.match(verdict(text.stdout), /^HEALTHY: /);
    const json = await diagnoseCli(["ok", "--namespace", namespace, "-o", "json"]);
    assert.equal(json.exitCode, 0);
    const parsed = JSON.parse(json.stdout) as {
      verdict: { healthy: boolean };
      release: { history: { revision: number; applyMethod: string; description: string }[] };
      nextSteps: unknown[];
    };
    assert.equal(parsed.verdict.healthy, true);
    assert.deepEqual(
      parsed.release.history.map((entry) => [entry.revision, entry.applyMethod, entry.description]),
      [
        [1, "ssa", "Install complete"],
        [2, "ssa", "Upgrade complete"],
      ],
    );
    assert.deepEqual(parsed.nextSteps, []);
  });

  it("reads only what one release needs: its records, its kinds, its hooks (a 20-object release)", async (t) => {
    const namespace = await createNamespace("diag-cost");
    const chart = twentyObjectChart();
    for (const release of ["big", "other-a", "other-b"]) {
      await helm("v3", ["install", release, chart, "-n", namespace]);
      await helm("v3", ["upgrade", release, chart, "-n", namespace, "--set", "value=two"]);
    }
    const { requests, millis, report } = await focusedScan(namespace, "big");
    t.diagnostic(
      `diagnose of a 20-object release: ${String(requests.length)} requests in ${millis.toFixed(0)} ms: ${[...requests].sort().join(", ")}`,
    );
    assert.equal(report.drift?.managedResources, 20);
    // Its two records (latest, and the rollback target, which is also revision 1: every revision), none of the other releases'.
    assert.equal(requests.filter((request) => request === "get secrets").length, 2);
    const whole = await focusedScanAll(namespace);
    t.diagnostic(`a scan of the namespace (3 releases): ${String(whole)} requests`);
    assert.ok(requests.length < whole, "fewer requests than a scan of the namespace");
  });
});

/** A scan of the whole namespace, as `scan -n <namespace>` makes it: how many requests. */
async function focusedScanAll(namespace: string): Promise<number> {
  const counter = new Counter();
  const { context, close } = await scanContext(namespace, counter);
  try {
    await scan(context);
    return counter.requests.length;
  } finally {
    close();
  }
}

/** A chart of 20 ConfigMaps. */
function twentyObjectChart(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "hde-twenty-"));
  mkdirSync(path.join(dir, "templates"));
  writeFileSync(path.join(dir, "Chart.yaml"), "apiVersion: v2\nname: twenty\nversion: 0.1.0\n");
  writeFileSync(path.join(dir, "values.yaml"), "value: one\n");
  writeFileSync(
    path.join(dir, "templates", "configmaps.yaml"),
    "{{- range $i := until 20 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ $i }}\ndata:\n  value: {{ $.Values.value | quote }}\n{{- end }}\n",
  );
  return dir;
}
