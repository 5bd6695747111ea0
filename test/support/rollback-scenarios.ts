/**
 * Ground truth for rollback readiness: every situation the exporter predicts, made with real
 * helm and kubectl on the test control plane, and what real `helm rollback` and `helm upgrade`
 * then do there (test/integration/rollback-readiness.test.ts proves each expectation).
 *
 * A scenario is used in three steps, so that a test can read the cluster between them:
 *   const situation = await scenario.setup(MODES["v4-ssa"]);  // no assertions, deterministic
 *   ... run the exporter, record its prediction ...
 *   const outcome = await scenario.attempt(situation);         // the real `helm rollback <release>`
 * `scenario.expected[mode]` holds what helm does, as observed with helm v3.22.0 and v4.3.1
 * (docs/rollback.md explains each with the helm source).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { finishJob, type JobOutcome } from "./kubelet.ts";
import { createNamespace, kubeConfig, run } from "./cluster.ts";
import {
  fixtureChart,
  helm,
  helmFails,
  leavePendingUpgrade,
  startHelm,
  type HelmMajor,
  type HelmRun,
} from "./helm.ts";
import { orUndefined } from "./poll.ts";

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** The blocker reasons of issue 18, as the exporter's `reason` label spells them. */
export type RollbackBlocker =
  | "no_target"
  | "api_not_served"
  | "immutable_field"
  | "ssa_conflict"
  | "hook_conflict"
  | "ownership"
  | "namespace_terminating"
  | "target_failed";

/** Why a `helm upgrade` is refused before it writes anything. */
export type UpgradeBlocker = "pending" | "no_deployed" | "api_not_served" | "namespace_terminating";

export type ReleaseStatus =
  | "unknown"
  | "deployed"
  | "uninstalled"
  | "superseded"
  | "failed"
  | "uninstalling"
  | "pending-install"
  | "pending-upgrade"
  | "pending-rollback";

export type ModeName = "v3" | "v4-csa" | "v4-ssa" | "v3-record-v4-cli";

/** Which helm makes the revisions, which helm attempts the rollback, and how v4 applies. */
export interface Mode {
  readonly name: ModeName;
  readonly setupMajor: HelmMajor;
  readonly attemptMajor: HelmMajor;
  /** The `apply_method` helm v4 stores in each revision it writes ("" for helm v3 records). */
  readonly applyMethod: "" | "csa" | "ssa";
}

export const MODES: Readonly<Record<ModeName, Mode>> = {
  v3: { name: "v3", setupMajor: "v3", attemptMajor: "v3", applyMethod: "" },
  "v4-csa": { name: "v4-csa", setupMajor: "v4", attemptMajor: "v4", applyMethod: "csa" },
  "v4-ssa": { name: "v4-ssa", setupMajor: "v4", attemptMajor: "v4", applyMethod: "ssa" },
  // A release made by helm v3 and rolled back by helm v4: records without apply_method are
  // applied client-side (`--server-side auto` follows the target revision's method).
  "v3-record-v4-cli": { name: "v3-record-v4-cli", setupMajor: "v3", attemptMajor: "v4", applyMethod: "" },
};

/** The three ways a release is commonly made and rolled back. */
const ALL: readonly ModeName[] = ["v3", "v4-csa", "v4-ssa"];
const CLIENT_SIDE: readonly ModeName[] = ["v3", "v4-csa"];

export type Values = Readonly<Record<string, unknown>>;

/** What a scenario's setup leaves: everything an attempt (or a prediction) needs. */
export interface Situation {
  readonly scenario: string;
  readonly mode: Mode;
  readonly release: string;
  readonly namespace: string;
  readonly chart: string;
  /** The revision a bare `helm rollback <release>` targets: the highest revision number minus one. */
  readonly targetRevision: number;
  /** The values the next `helm upgrade` deploys (the chart as the team would ship it next). */
  readonly upgradeValues: Values;
  /** The custom resource group this situation's Widget CRD serves, when it has one. */
  readonly widgetGroup?: string;
  /**
   * helm and kubectl keep API discovery on disk ($KUBECACHEDIR, default ~/.kube/cache, 6 hours).
   * The setup used this directory; an attempt gets a fresh one unless the scenario is about a
   * stale cache.
   */
  readonly setupCacheDir: string;
}

export interface StoredRevision {
  readonly revision: number;
  readonly status: ReleaseStatus;
  readonly description: string;
}

export interface Outcome {
  readonly exitCode: number | null;
  /** helm's stdout and stderr: `Error: ...` on failure, v4's `level=WARN` lines too. */
  readonly output: string;
  /** The release records in storage after the attempt, oldest first. */
  readonly revisions: readonly StoredRevision[];
}

export type Operation =
  { readonly kind: "rollback"; readonly revision?: number } | { readonly kind: "upgrade" };

export interface OperationFacts {
  readonly succeeds: boolean;
  /** Each matches helm's output. */
  readonly errors?: readonly RegExp[];
  /** Every stored revision's status afterwards, by revision number (pruned ones are absent). */
  readonly statuses: Readonly<Record<number, ReleaseStatus>>;
}

/** A live value after the rollback attempt: `kubectl get <resource> -o jsonpath=<jsonPath>`. */
export interface LiveFact {
  readonly resource: string;
  readonly jsonPath: string;
  readonly value: string;
  readonly why: string;
}

export interface Expected {
  /** The bare rollback: `reason` is what the exporter reports ("ready" when it succeeds). */
  readonly rollback: OperationFacts & { readonly reason: RollbackBlocker | "ready" };
  /** A `helm upgrade` tried before the rollback, where helm refuses it without writing anything. */
  readonly upgradeBefore?: OperationFacts & { readonly reason: UpgradeBlocker };
  /** A `helm upgrade` (with `upgradeValues`) after the rollback attempt: is the release locked? */
  readonly upgradeAfter: Omit<OperationFacts, "statuses">;
  /** Live values the setup left (the hand-made changes), checked before the rollback. */
  readonly liveBefore?: (situation: Situation) => readonly LiveFact[];
  /** Live values after the rollback: hand-made changes reverted, kept, objects adopted. */
  readonly live?: (situation: Situation) => readonly LiveFact[];
  /**
   * False when the outcome is decided at run time (a hook Job's result): a read-only observer
   * cannot predict it, and the exporter reports such a release as ready.
   */
  readonly predictable: boolean;
  /**
   * Why helm's output here is not the exporter's message for the blocker (which is worded as
   * the helm that reads the records fresh would word it): the exporter's note says so.
   */
  readonly helmWordsDiffer?: string;
}

export interface Scenario {
  /** `<reason>/<situation>`: the issue 18 reason it exercises, or `ready/...` for a clean one. */
  readonly name: string;
  readonly summary: string;
  /** The modes it runs in, each with what helm does there. */
  readonly expected: Readonly<Partial<Record<ModeName, Expected>>>;
  setup(mode: Mode): Promise<Situation>;
  attempt(situation: Situation, operation?: Operation): Promise<Outcome>;
}

// ---------------------------------------------------------------------------------------------
// Helm's words (as printed; each regex matches what both majors print unless it says otherwise)

const LOCKED = /UPGRADE FAILED: another operation \(install\/upgrade\/rollback\) is in progress/;
const NS = "[a-z0-9-]+";
const notServed = (group: string) =>
  new RegExp(`no matches for kind "Widget" in version "${group}/v1alpha1"\\nensure CRDs are installed first`);

// ---------------------------------------------------------------------------------------------
// Running helm and kubectl for a situation

const RELEASE = "app";

/** A fresh discovery cache directory: as on a machine that never talked to this cluster. */
function freshCacheDir(): string {
  return mkdtempSync(path.join(tmpdir(), "hde-kubecache-"));
}

function valuesFile(values: Values): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-values-")), "values.json");
  writeFileSync(file, JSON.stringify(values)); // JSON is YAML
  return file;
}

/** What a setup step needs: the mode, the namespace, its own discovery cache. */
interface Workbench {
  readonly mode: Mode;
  readonly namespace: string;
  readonly cacheDir: string;
}

async function workbench(scenario: string, mode: Mode): Promise<Workbench> {
  const prefix = `rb-${scenario.replace(/[^a-z0-9]+/g, "-").slice(0, 24)}`.replace(/-+$/, "");
  return { mode, namespace: await createNamespace(prefix), cacheDir: freshCacheDir() };
}

function setupHelm(bench: Workbench, args: readonly string[]): Promise<string> {
  return helm(bench.mode.setupMajor, [...args, "-n", bench.namespace], { KUBECACHEDIR: bench.cacheDir });
}

function kubectl(bench: Workbench, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return run("kubectl", ["-n", bench.namespace, ...args], { KUBECACHEDIR: bench.cacheDir, ...env });
}

/** `helm install` with exactly these values; helm v4 csa installs with `--server-side=false`. */
function install(bench: Workbench, values: Values, release = RELEASE, chart = fixtureChart("rollback")) {
  const method = bench.mode.applyMethod === "csa" ? ["--server-side=false"] : [];
  return setupHelm(bench, ["install", release, chart, "-f", valuesFile(values), ...method]);
}

/**
 * `helm upgrade` with exactly these values. `--reset-values` because helm otherwise reuses the
 * previous revision's values when none are given; v4 keeps the release's apply method ("auto").
 */
function upgrade(bench: Workbench, values: Values, extra: readonly string[] = []) {
  return setupHelm(bench, [
    "upgrade",
    RELEASE,
    fixtureChart("rollback"),
    "--reset-values",
    "-f",
    valuesFile(values),
    ...extra,
  ]);
}

/** An upgrade whose object the apiserver refuses (an invalid name): leaves a failed revision. */
async function failedUpgrade(bench: Workbench): Promise<void> {
  await helmFails(
    bench.mode.setupMajor,
    [
      "upgrade",
      RELEASE,
      fixtureChart("rollback"),
      "--reset-values",
      "--set",
      "invalid=true",
      "-n",
      bench.namespace,
    ],
    { KUBECACHEDIR: bench.cacheDir },
  );
}

/** Reads every release record of `release` from its Secrets, decoding each description. */
export async function storedRevisions(namespace: string, release: string): Promise<StoredRevision[]> {
  const list = await kubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` });
  return list.items
    .map((secret) => {
      const labels = secret.metadata?.labels ?? {};
      return {
        revision: Number(labels.version),
        status: labels.status as ReleaseStatus,
        description: releaseDescription(secret.data?.release ?? ""),
      };
    })
    .sort((a, b) => a.revision - b.revision);
}

/** The Secret holds base64(gzip(JSON)) of the release; its `info.description` says what happened. */
function releaseDescription(data: string): string {
  const helmEncoded = Buffer.from(data, "base64").toString();
  const compressed = Buffer.from(helmEncoded, "base64");
  const json = compressed[0] === 0x1f && compressed[1] === 0x8b ? gunzipSync(compressed) : compressed;
  const record = JSON.parse(json.toString()) as { info?: { description?: string } };
  return record.info?.description ?? "";
}

/** Statuses by revision number, the shape `OperationFacts.statuses` uses. */
export function statusesOf(revisions: readonly StoredRevision[]): Record<number, ReleaseStatus> {
  return Object.fromEntries(revisions.map((r) => [r.revision, r.status]));
}

/** The revision a bare rollback targets: the highest stored revision number minus one. */
async function bareRollbackTarget(bench: Workbench, release = RELEASE): Promise<number> {
  const revisions = await storedRevisions(bench.namespace, release);
  return Math.max(...revisions.map((r) => r.revision)) - 1;
}

interface SituationExtras {
  readonly upgradeValues: Values;
  readonly chart?: string;
  readonly widgetGroup?: string;
}

async function situationOf(scenario: string, bench: Workbench, extras: SituationExtras): Promise<Situation> {
  return {
    scenario,
    mode: bench.mode,
    release: RELEASE,
    namespace: bench.namespace,
    chart: extras.chart ?? fixtureChart("rollback"),
    targetRevision: await bareRollbackTarget(bench),
    upgradeValues: extras.upgradeValues,
    ...(extras.widgetGroup === undefined ? {} : { widgetGroup: extras.widgetGroup }),
    setupCacheDir: bench.cacheDir,
  };
}

// ---------------------------------------------------------------------------------------------
// The attempt

interface AttemptOptions {
  /** Roll back with the setup's discovery cache instead of a fresh one (the stale-cache case). */
  readonly staleDiscovery?: boolean;
  /** helm's --timeout for the attempt (default 60s): how long helm v3 waits for a hook object to go. */
  readonly timeout?: string;
  /** Flags the rollback is run with (the bare rollback has none): how an operator forces one. */
  readonly rollbackFlags?: readonly string[];
  /** Plays the kubelet for hook Jobs while helm runs. */
  readonly kubelet?: { readonly job: string; readonly outcome: JobOutcome };
}

function attemptWith(options: AttemptOptions) {
  return async (situation: Situation, operation: Operation = { kind: "rollback" }): Promise<Outcome> => {
    const args =
      operation.kind === "rollback"
        ? [
            "rollback",
            situation.release,
            ...(operation.revision === undefined ? [] : [String(operation.revision)]),
            ...(options.rollbackFlags ?? []),
          ]
        : [
            "upgrade",
            situation.release,
            situation.chart,
            "--reset-values",
            "-f",
            valuesFile(situation.upgradeValues),
          ];
    const cacheDir =
      options.staleDiscovery && operation.kind === "rollback" ? situation.setupCacheDir : freshCacheDir();
    const helmRun = startHelm(
      situation.mode.attemptMajor,
      [...args, "-n", situation.namespace, "--timeout", options.timeout ?? "60s"],
      { KUBECACHEDIR: cacheDir },
    );
    const kubelet = options.kubelet
      ? playKubelet(situation.namespace, options.kubelet.job, options.kubelet.outcome, helmRun.done)
      : Promise.resolve();
    const [result] = await Promise.all([helmRun.done, kubelet]);
    return outcomeOf(situation, result);
  };
}

async function outcomeOf(situation: Situation, result: HelmRun): Promise<Outcome> {
  return {
    exitCode: result.exitCode,
    output: result.output,
    revisions: await storedRevisions(situation.namespace, situation.release),
  };
}

/**
 * Finishes each not-yet-finished Job of that name while helm runs, as the kubelet and job
 * controller would: helm may delete and re-create the hook Job (before-hook-creation) first.
 */
async function playKubelet(namespace: string, job: string, outcome: JobOutcome, helmDone: Promise<HelmRun>) {
  const batch = kubeConfig().makeApiClient(BatchV1Api);
  const helmState = { exited: false };
  void helmDone.then(() => (helmState.exited = true));
  while (!helmState.exited) {
    const found = await orUndefined(() => batch.readNamespacedJob({ name: job, namespace }));
    if (found && !found.status?.conditions?.length) {
      // Deleted under us (helm's before-hook-creation), finishJob waits for the re-created one.
      await orUndefined(() => finishJob(kubeConfig(), namespace, job, outcome));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------------------------------------
// Custom resources: each situation has its own Widget CRD (its own group), so that making the
// cluster stop serving a version affects only that situation.

function widgetCrd(group: string, alphaServed: boolean) {
  const schema = {
    openAPIV3Schema: {
      type: "object",
      properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    },
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [
        { name: "v1alpha1", served: alphaServed, storage: false, schema },
        { name: "v1", served: true, storage: true, schema },
      ],
    },
  };
}

async function applyWidgetCrd(bench: Workbench, alphaServed: boolean): Promise<string> {
  const group = `${bench.namespace}.hde.test`;
  const file = valuesFile(widgetCrd(group, alphaServed));
  await kubectl(bench, ["apply", "-f", file]);
  await kubectl(bench, ["wait", "--for=condition=Established", `crd/widgets.${group}`]);
  return group;
}

/** The CRD stops serving v1alpha1, as a CRD upgrade that drops an old version does. */
async function stopServingAlpha(bench: Workbench): Promise<void> {
  await applyWidgetCrd(bench, false);
}

// ---------------------------------------------------------------------------------------------
// Scenario building blocks

interface ScenarioDefinition extends AttemptOptions {
  readonly name: string;
  readonly summary: string;
  readonly expected: Readonly<Partial<Record<ModeName, Expected>>>;
  build(bench: Workbench): Promise<SituationExtras>;
}

function scenario(definition: ScenarioDefinition): Scenario {
  return {
    name: definition.name,
    summary: definition.summary,
    expected: definition.expected,
    setup: async (mode) => {
      const bench = await workbench(definition.name, mode);
      return situationOf(definition.name, bench, await definition.build(bench));
    },
    attempt: attemptWith(definition),
  };
}

/** The expectation of each of these modes. */
function perMode(
  modes: readonly ModeName[],
  expected: (mode: ModeName) => Expected,
): Partial<Record<ModeName, Expected>> {
  return Object.fromEntries(modes.map((mode) => [mode, expected(mode)]));
}

/** The same expectation in each of these modes. */
function inModes(modes: readonly ModeName[], expected: Expected): Partial<Record<ModeName, Expected>> {
  return perMode(modes, () => expected);
}

const UPGRADE_WORKS = { succeeds: true } as const;
const UPGRADE_LOCKED = { succeeds: false, errors: [LOCKED] } as const;

type Statuses = OperationFacts["statuses"];
/** Rolled back from revision 2 to 1. */
const ROLLED_BACK: Statuses = { 1: "superseded", 2: "superseded", 3: "deployed" };
/** The rollback failed while applying: Last superseded, revision 3 failed, nothing deployed. */
const APPLY_FAILED: Statuses = { 1: "superseded", 2: "superseded", 3: "failed" };
/** The rollback failed before applying, or in a hook: revision 3 stays pending-rollback. */
const LEFT_PENDING: Statuses = { 1: "superseded", 2: "deployed", 3: "pending-rollback" };
/** The rollback from 2 to 1 succeeds. */
const READY = { reason: "ready", succeeds: true, statuses: ROLLED_BACK } as const;

/** A rollback that fails: helm prints each of `errors`, and leaves `statuses`. */
function blocked(
  reason: RollbackBlocker | "ready",
  statuses: Statuses,
  errors: readonly RegExp[],
): Expected["rollback"] {
  return { reason, succeeds: false, errors, statuses };
}

/** Revisions 1 and 2 of the chart, differing only in their greeting. */
async function twoRevisions(bench: Workbench): Promise<SituationExtras> {
  await install(bench, { greeting: "one" });
  await upgrade(bench, { greeting: "two" });
  return { upgradeValues: { greeting: "two" } };
}

// ---------------------------------------------------------------------------------------------
// Clean releases

const severalRevisions = scenario({
  name: "ready/several-revisions",
  summary: "Four revisions; a bare rollback returns to the third.",
  build: async (bench) => {
    await install(bench, { greeting: "one" });
    for (const greeting of ["two", "three", "four"]) await upgrade(bench, { greeting });
    return { upgradeValues: { greeting: "five" } };
  },
  expected: inModes([...ALL, "v3-record-v4-cli"], {
    rollback: {
      reason: "ready",
      succeeds: true,
      errors: [/Rollback was a success! Happy Helming!/],
      statuses: { 1: "superseded", 2: "superseded", 3: "superseded", 4: "superseded", 5: "deployed" },
    },
    upgradeAfter: UPGRADE_WORKS,
    live: () => [
      { resource: "configmap/app-config", jsonPath: "{.data.greeting}", value: "three", why: "revision 3" },
    ],
    predictable: true,
  }),
});

/** Declared fields changed by hand: `kubectl scale`, `kubectl edit`, `kubectl patch`, on a custom resource too. */
const DRIFT_VALUES = {
  deployment: { enabled: true },
  lockedConfig: { enabled: true },
  widget: { enabled: true },
};

async function driftedByKubectl(bench: Workbench): Promise<SituationExtras> {
  const widgetGroup = await applyWidgetCrd(bench, true);
  const values = (greeting: string) => ({
    ...DRIFT_VALUES,
    greeting,
    widget: { enabled: true, apiVersion: `${widgetGroup}/v1` },
  });
  await install(bench, values("one"));
  await upgrade(bench, values("two"));
  await kubectl(bench, ["scale", "deployment/app-web", "--replicas=3"]);
  await kubectl(bench, ["edit", "deployment/app-web"], {
    KUBE_EDITOR: "sed -i s#registry.example/web:1.0.0#registry.example/web:hotfix#",
  });
  await kubectl(bench, ["patch", "configmap/app-locked", "-p", '{"data":{"value":"patched"}}']);
  await kubectl(bench, [
    "patch",
    `widgets.${widgetGroup}/app-widget`,
    "--type=merge",
    "-p",
    '{"spec":{"size":"5"}}',
  ]);
  return { upgradeValues: values("two"), widgetGroup };
}

/** The hand-made changes `driftedByKubectl` leaves, before any rollback. */
function handMadeDrift(situation: Situation): LiveFact[] {
  return [
    { resource: "deployment/app-web", jsonPath: "{.spec.replicas}", value: "3", why: "kubectl scale" },
    {
      resource: "deployment/app-web",
      jsonPath: "{.spec.template.spec.containers[0].image}",
      value: "registry.example/web:hotfix",
      why: "kubectl edit",
    },
    { resource: "configmap/app-locked", jsonPath: "{.data.value}", value: "patched", why: "kubectl patch" },
    {
      resource: `widgets.${situation.widgetGroup ?? ""}/app-widget`,
      jsonPath: "{.spec.size}",
      value: "5",
      why: "kubectl patch of a custom resource",
    },
  ];
}

const driftReverted = scenario({
  name: "ready/drift-reverted",
  summary:
    "Hand-made changes to declared fields: client-side apply (v3, v4 csa) silently reverts them on a " +
    "built-in kind, and keeps them on a custom resource (two-way merge of the two manifests only).",
  build: driftedByKubectl,
  expected: inModes([...CLIENT_SIDE, "v3-record-v4-cli"], {
    rollback: READY,
    liveBefore: handMadeDrift,
    upgradeAfter: UPGRADE_WORKS,
    live: (s) => [
      {
        resource: "deployment/app-web",
        jsonPath: "{.spec.replicas}",
        value: "1",
        why: "kubectl scale reverted",
      },
      {
        resource: "deployment/app-web",
        jsonPath: "{.spec.template.spec.containers[0].image}",
        value: "registry.example/web:1.0.0",
        why: "kubectl edit reverted",
      },
      {
        resource: "configmap/app-locked",
        jsonPath: "{.data.value}",
        value: "one",
        why: "kubectl patch reverted",
      },
      {
        resource: `widgets.${s.widgetGroup ?? ""}/app-widget`,
        jsonPath: "{.spec.size}",
        value: "5",
        why: "a custom resource gets a two-way patch: a field equal in both manifests keeps its hand-made value",
      },
    ],
    predictable: true,
  }),
});

const ssaConflict = scenario({
  name: "ssa_conflict/kubectl-scale-edit-patch",
  summary:
    "The same hand-made changes under v4 server-side apply: not forced, so each declared field another " +
    "manager changed is a conflict, and the rollback fails (recorded failed, no revision left deployed).",
  build: driftedByKubectl,
  expected: {
    "v4-ssa": {
      rollback: blocked("ssa_conflict", APPLY_FAILED, [
        new RegExp(
          `conflict occurred while applying object ${NS}/app-locked /v1, Kind=ConfigMap: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \\.data\\.value`,
        ),
        new RegExp(
          `conflict occurred while applying object ${NS}/app-web apps/v1, Kind=Deployment: Apply failed with 2 conflicts: conflicts with "kubectl" with subresource "scale" using apps/v1:\\n- \\.spec\\.replicas\\nconflicts with "kubectl-edit" using apps/v1:\\n- \\.spec\\.template\\.spec\\.containers\\[name="web"\\]\\.image`,
        ),
        /conflict occurred while applying object [a-z0-9-]+\/app-widget [a-z0-9.-]+\/v1, Kind=Widget: Apply failed with 1 conflict: conflict with "kubectl-patch" using [a-z0-9.-]+\/v1: \.spec\.size/,
        / && /,
      ]),
      // The next upgrade applies the same fields server-side: it conflicts the same way.
      upgradeAfter: {
        succeeds: false,
        errors: [/UPGRADE FAILED: conflict occurred while applying object/],
      },
      liveBefore: handMadeDrift,
      live: () => [
        { resource: "deployment/app-web", jsonPath: "{.spec.replicas}", value: "3", why: "nothing applied" },
      ],
      predictable: true,
    },
  },
});

// ---------------------------------------------------------------------------------------------
// no_target

const oneRevision = scenario({
  name: "no_target/one-revision",
  summary: "A release with one revision: a bare rollback targets revision 0.",
  build: async (bench) => {
    await install(bench, {});
    return { upgradeValues: { greeting: "two" } };
  },
  expected: inModes(ALL, {
    rollback: blocked("no_target", { 1: "deployed" }, [/^Error: release has no 0 version$/m]),
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  }),
});

const prunedTarget = scenario({
  name: "no_target/pruned-by-history-max",
  summary:
    "Revision 2 failed; the next upgrade with --history-max 2 prunes it (the newest deployed revision " +
    "is never pruned): a bare rollback from 3 targets the missing 2.",
  build: async (bench) => {
    await install(bench, {});
    await failedUpgrade(bench);
    await upgrade(bench, { greeting: "three" }, ["--history-max", "2"]);
    return { upgradeValues: { greeting: "four" } };
  },
  expected: inModes(ALL, {
    rollback: blocked("no_target", { 1: "superseded", 3: "deployed" }, [
      /^Error: release has no 2 version$/m,
    ]),
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  }),
});

// ---------------------------------------------------------------------------------------------
// api_not_served

function pendingRollbackAfter(errors: readonly RegExp[]): Expected {
  return {
    rollback: {
      reason: "api_not_served",
      succeeds: false,
      errors,
      statuses: LEFT_PENDING,
    },
    upgradeAfter: UPGRADE_LOCKED,
    predictable: true,
  };
}

const targetNotServed = scenario({
  name: "api_not_served/target-manifest",
  summary:
    "Revision 1 declared a Widget in v1alpha1, revision 2 in v1; the CRD then stopped serving v1alpha1. " +
    "Rollback writes revision 3 pending-rollback, then cannot build the target manifest: the release is locked.",
  build: async (bench) => {
    const group = await applyWidgetCrd(bench, true);
    await install(bench, { widget: { enabled: true, apiVersion: `${group}/v1alpha1` } });
    await upgrade(bench, { widget: { enabled: true, apiVersion: `${group}/v1` } });
    await stopServingAlpha(bench);
    return { upgradeValues: { widget: { enabled: true, apiVersion: `${group}/v1` } }, widgetGroup: group };
  },
  expected: inModes(
    ALL,
    pendingRollbackAfter([
      /^Error: unable to build kubernetes objects from new release manifest: resource mapping not found for name: "app-widget" namespace: "" from "": /m,
      notServed(".+"),
    ]),
  ),
});

const staleDiscovery = scenario({
  name: "api_not_served/stale-discovery-cache",
  summary:
    "The same, rolled back from a machine whose discovery cache (~/.kube/cache, 6 h) still lists " +
    "v1alpha1: the manifests build, helm tries to create the Widget through the unserved version, and " +
    "the rollback fails as an apply failure: revision 3 failed, revision 2 superseded, nothing deployed.",
  staleDiscovery: true,
  build: async (bench) => {
    const group = await applyWidgetCrd(bench, true);
    await install(bench, { widget: { enabled: true, apiVersion: `${group}/v1alpha1` } });
    await upgrade(bench, { widget: { enabled: true, apiVersion: `${group}/v1` } });
    await stopServingAlpha(bench);
    return { upgradeValues: { widget: { enabled: true, apiVersion: `${group}/v1` } }, widgetGroup: group };
  },
  expected: inModes(ALL, {
    rollback: blocked("api_not_served", APPLY_FAILED, [
      /failed to create resource: .*the server could not find the requested resource/,
    ]),
    helmWordsDiffer:
      "helm's discovery cache still lists the version: it fails applying the object, not building the manifest",
    // Nothing is deployed now: the next upgrade builds the failed revision 3 (revision 1's
    // manifest) as the current one, and that fails even with a fresh discovery cache.
    upgradeAfter: {
      succeeds: false,
      errors: [/^Error: UPGRADE FAILED: unable to build kubernetes objects from current release manifest: /m],
    },
    predictable: true,
  }),
});

const currentNotServed = scenario({
  name: "api_not_served/current-manifest",
  summary:
    "The deployed revision declares the Widget in v1alpha1, no longer served. Upgrade (even to a chart " +
    "fixed to v1) fails building the current manifest, before writing anything; rollback writes " +
    "revision 3 pending-rollback and fails the same way.",
  build: async (bench) => {
    const group = await applyWidgetCrd(bench, true);
    await install(bench, { widget: { enabled: true, apiVersion: `${group}/v1` } });
    await upgrade(bench, { widget: { enabled: true, apiVersion: `${group}/v1alpha1` } });
    await stopServingAlpha(bench);
    return { upgradeValues: { widget: { enabled: true, apiVersion: `${group}/v1` } }, widgetGroup: group };
  },
  expected: inModes(ALL, {
    ...pendingRollbackAfter([
      /^Error: unable to build kubernetes objects from current release manifest: resource mapping not found for name: "app-widget" namespace: "" from "": /m,
      notServed(".+"),
    ]),
    upgradeBefore: {
      reason: "api_not_served",
      succeeds: false,
      errors: [
        /^Error: UPGRADE FAILED: unable to build kubernetes objects from current release manifest: resource mapping not found for name: "app-widget"/m,
        notServed(".+"),
      ],
      statuses: { 1: "superseded", 2: "deployed" },
    },
  }),
});

function hookNotServed(events: "pre-rollback" | "post-rollback", greetingAfter: string) {
  return scenario({
    name: `api_not_served/${events}-hook`,
    summary:
      `Revision 1 has a ${events} hook Widget in v1alpha1, no longer served. Its default delete policy ` +
      "(before-hook-creation) builds it first and fails: pending-rollback" +
      (events === "post-rollback" ? ", after the objects were already rolled back." : "."),
    build: async (bench) => {
      const group = await applyWidgetCrd(bench, true);
      await install(bench, {
        greeting: "one",
        widgetHook: { enabled: true, events, apiVersion: `${group}/v1alpha1` },
      });
      await upgrade(bench, { greeting: "two" });
      await stopServingAlpha(bench);
      return { upgradeValues: { greeting: "two" }, widgetGroup: group };
    },
    expected: inModes(ALL, {
      ...pendingRollbackAfter([
        /^Error: unable to build kubernetes object for deleting hook rollback\/templates\/hooks\.yaml: resource mapping not found for name: "app-widget-hook" namespace: "" from "": /m,
        notServed(".+"),
      ]),
      live: () => [
        {
          resource: "configmap/app-config",
          jsonPath: "{.data.greeting}",
          value: greetingAfter,
          why: events === "pre-rollback" ? "nothing applied" : "applied before the post-rollback hook failed",
        },
      ],
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// immutable_field

/**
 * Revision 2 changes fields the apiserver refuses to change, each object deleted by hand first
 * (the usual advice when an upgrade meets an immutable field), so that the upgrade succeeded.
 */
async function immutableFieldsChanged(bench: Workbench): Promise<SituationExtras> {
  const objects = {
    deployment: { enabled: true },
    service: { enabled: true },
    roleBinding: { enabled: true },
  };
  await install(bench, {
    ...objects,
    service: { enabled: true, headless: true },
    lockedConfig: { enabled: true },
  });
  await kubectl(bench, ["delete", "deployment/app-web", "service/app-svc", "rolebinding/app-readers"]);
  const revision2 = {
    ...objects,
    deployment: { enabled: true, track: "b" },
    roleBinding: { enabled: true, clusterRole: "edit" },
    lockedConfig: { enabled: true, immutable: true, value: "two" },
  };
  await upgrade(bench, revision2);
  return { upgradeValues: revision2 };
}

const immutableFields = scenario({
  name: "immutable_field/selector-clusterip-roleref-immutable-configmap",
  summary:
    "Revision 2 changed a Deployment selector, made a headless Service normal and changed a RoleBinding " +
    "roleRef (each deleted by hand first, as the usual advice for an immutable-field upgrade says), " +
    "and made a ConfigMap immutable with new data. Rolling back fails on all four, joined with ' && '.",
  build: immutableFieldsChanged,
  expected: perMode(ALL, (mode) => {
    const prefix = (name: string, kind: string, gvk: string) =>
      mode === "v4-ssa"
        ? `server-side apply failed for object ${NS}/${name} ${gvk}, Kind=${kind}: `
        : `cannot patch "${name}" with kind ${kind}: `;
    return {
      rollback: blocked("immutable_field", APPLY_FAILED, [
        new RegExp(
          prefix("app-locked", "ConfigMap", "/v1") +
            'ConfigMap "app-locked" is invalid: \\[immutable: Forbidden: field is immutable when `immutable` is set, data: Forbidden: field is immutable when `immutable` is set\\]',
        ),
        new RegExp(
          prefix("app-readers", "RoleBinding", "rbac.authorization.k8s.io/v1") +
            'RoleBinding.rbac.authorization.k8s.io "app-readers" is invalid: roleRef: Invalid value: .*"Name":"view"}: field is immutable',
        ),
        new RegExp(
          prefix("app-svc", "Service", "/v1") +
            'Service "app-svc" is invalid: spec.clusterIPs\\[0\\]: Invalid value: \\["None"\\]: may not change once set',
        ),
        new RegExp(
          prefix("app-web", "Deployment", "apps/v1") +
            'Deployment.apps "app-web" is invalid: spec.selector: Invalid value: .*"track":"a"}}: field is immutable',
        ),
      ]),
      upgradeAfter: UPGRADE_WORKS,
      predictable: true,
    };
  }),
});

const forcedReplace = scenario({
  name: "immutable_field/forced-with-replace",
  summary:
    "The same, rolled back with v3 --force / v4 --force-replace: helm replaces each object with a " +
    "PUT, which the apiserver refuses for the same fields.",
  build: immutableFieldsChanged,
  rollbackFlags: ["--force"],
  expected: inModes(CLIENT_SIDE, {
    helmWordsDiffer: "rolled back with --force: helm replaces each object (PUT) instead of patching it",
    rollback: blocked("immutable_field", APPLY_FAILED, [
      /^Error: failed to replace object: ConfigMap "app-locked" is invalid: /m,
      / && failed to replace object: RoleBinding.rbac.authorization.k8s.io "app-readers" is invalid: roleRef: /,
      / && failed to replace object: Service "app-svc" is invalid: spec.clusterIPs\[0\]: /,
      / && failed to replace object: Deployment.apps "app-web" is invalid: spec.selector: /,
    ]),
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  }),
});

const forceReplaceServerSide = scenario({
  name: "flags/force-replace-on-server-side-target",
  summary:
    "helm v4 --force-replace on a revision applied server-side: refused after the pending revision " +
    "is written, as an apply failure (failed, nothing deployed).",
  build: twoRevisions,
  rollbackFlags: ["--force-replace"],
  expected: {
    "v4-ssa": {
      rollback: blocked("ready", APPLY_FAILED, [
        /^Error: invalid operation: cannot use server-side apply and force replace together$/m,
      ]),
      upgradeAfter: UPGRADE_WORKS,
      predictable: true,
    },
  },
});

const forceConflictsClientSide = scenario({
  name: "flags/force-conflicts-on-client-side-target",
  summary: "helm v4 --force-conflicts on a revision applied client-side: refused the same way.",
  build: twoRevisions,
  rollbackFlags: ["--force-conflicts"],
  expected: {
    "v4-csa": {
      rollback: blocked("ready", APPLY_FAILED, [
        /^Error: invalid client update option\(s\): forceConflicts enabled when serverSideApply disabled$/m,
      ]),
      upgradeAfter: UPGRADE_WORKS,
      predictable: true,
    },
  },
});

const conflictsForced = scenario({
  name: "ssa_conflict/forced-with-force-conflicts",
  summary:
    "The kubectl-drifted release rolled back with helm v4 --force-conflicts: helm takes the fields " +
    "over and the rollback succeeds, reverting the hand-made changes (the custom resource's too).",
  build: driftedByKubectl,
  rollbackFlags: ["--force-conflicts"],
  expected: {
    "v4-ssa": {
      rollback: {
        reason: "ssa_conflict",
        succeeds: true,
        statuses: ROLLED_BACK,
      },
      upgradeAfter: UPGRADE_WORKS,
      liveBefore: handMadeDrift,
      live: (s) => [
        { resource: "deployment/app-web", jsonPath: "{.spec.replicas}", value: "1", why: "taken over" },
        {
          resource: `widgets.${s.widgetGroup ?? ""}/app-widget`,
          jsonPath: "{.spec.size}",
          value: "1",
          why: "server-side apply sends every declared field",
        },
      ],
      predictable: true,
    },
  },
});

// ---------------------------------------------------------------------------------------------
// hook_conflict

/** A pre-rollback hook that also runs pre-upgrade and is deleted only when it fails: revision 2's upgrade leaves it behind. */
const LEFTOVER_HOOK = {
  hook: { enabled: true, events: "pre-upgrade,pre-rollback", deletePolicy: "hook-failed" },
};

/** The hook object an earlier run left behind, with the step it carries. */
function hookObject(step: string): LiveFact {
  return {
    resource: "configmap/app-hook",
    jsonPath: "{.data.step}",
    value: step,
    why: "left behind by revision 2's upgrade",
  };
}

async function leftoverHook(bench: Workbench, editByHand: boolean): Promise<SituationExtras> {
  await install(bench, { ...LEFTOVER_HOOK, greeting: "one" });
  await upgrade(bench, { ...LEFTOVER_HOOK, greeting: "two" });
  if (editByHand) await kubectl(bench, ["patch", "configmap/app-hook", "-p", '{"data":{"step":"by-hand"}}']);
  return { upgradeValues: { ...LEFTOVER_HOOK, greeting: "two" } };
}

const hookConflict = scenario({
  name: "hook_conflict/leftover-hook-object",
  summary:
    "The target's pre-rollback hook object exists (left by an earlier run; delete policy hook-failed, " +
    "no before-hook-creation). Client-side, helm creates it: already exists, pending-rollback.",
  build: (bench) => leftoverHook(bench, false),
  expected: perMode(CLIENT_SIDE, (mode) => ({
    rollback: blocked("hook_conflict", LEFT_PENDING, [
      mode === "v3"
        ? /^Error: warning: Hook pre-rollback rollback\/templates\/hooks\.yaml failed: 1 error occurred:\n\t\* configmaps "app-hook" already exists/m
        : /^Error: warning: Hook pre-rollback rollback\/templates\/hooks\.yaml failed: configmaps "app-hook" already exists$/m,
    ]),
    liveBefore: () => [hookObject("prepare")],
    upgradeAfter: UPGRADE_LOCKED,
    predictable: true,
  })),
});

const hookReapplied = scenario({
  name: "ready/leftover-hook-reapplied-server-side",
  summary:
    "The same leftover hook under v4 server-side apply: helm applies the hook over the object it " +
    "applied before (same field manager), so the hook runs and the rollback succeeds.",
  build: (bench) => leftoverHook(bench, false),
  expected: {
    "v4-ssa": {
      rollback: READY,
      liveBefore: () => [hookObject("prepare")],
      upgradeAfter: UPGRADE_WORKS,
      predictable: true,
    },
  },
});

const hookEdited = scenario({
  name: "hook_conflict/leftover-hook-edited-by-hand",
  summary:
    "The leftover hook object was then changed by kubectl: under v4 server-side apply the hook's " +
    "apply conflicts, pending-rollback.",
  build: (bench) => leftoverHook(bench, true),
  expected: {
    "v4-ssa": {
      rollback: blocked("hook_conflict", LEFT_PENDING, [
        /^Error: warning: Hook pre-rollback rollback\/templates\/hooks\.yaml failed: conflict occurred while applying object [a-z0-9-]+\/app-hook \/v1, Kind=ConfigMap: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \.data\.step$/m,
      ]),
      liveBefore: () => [hookObject("by-hand")],
      upgradeAfter: UPGRADE_LOCKED,
      predictable: true,
    },
  },
});

const hookStuckDeleting = scenario({
  name: "hook_conflict/hook-object-stuck-deleting",
  summary:
    "The target's pre-rollback hook object (default policy before-hook-creation) is held by a " +
    "finalizer: helm deletes it, but it stays. v3 waits for it to go until --timeout; v4 does not " +
    "wait (its default wait strategy, hookOnly, skips waiting for deletions): client-side it then " +
    "fails to create it, server-side it applies over the terminating object and succeeds.",
  timeout: "5s",
  build: async (bench) => {
    const hook = { hook: { enabled: true, events: "pre-upgrade,pre-rollback" } };
    await install(bench, { ...hook, greeting: "one" });
    await upgrade(bench, { ...hook, greeting: "two" });
    await kubectl(bench, [
      "patch",
      "configmap/app-hook",
      "-p",
      '{"metadata":{"finalizers":["example.com/hold"]}}',
    ]);
    return { upgradeValues: { ...hook, greeting: "two" } };
  },
  expected: {
    v3: {
      rollback: blocked("hook_conflict", LEFT_PENDING, [/^Error: context deadline exceeded$/m]),
      upgradeAfter: UPGRADE_LOCKED,
      predictable: true,
      helmWordsDiffer: "helm v3 waits for the object to go until --timeout: context deadline exceeded",
    },
    "v4-csa": {
      rollback: blocked("hook_conflict", LEFT_PENDING, [
        /^Error: warning: Hook pre-rollback rollback\/templates\/hooks\.yaml failed: object is being deleted: configmaps "app-hook" already exists$/m,
      ]),
      upgradeAfter: UPGRADE_LOCKED,
      predictable: true,
    },
    "v4-ssa": {
      rollback: READY,
      upgradeAfter: UPGRADE_WORKS,
      live: () => [
        {
          resource: "configmap/app-hook",
          jsonPath: "{.metadata.finalizers[0]}",
          value: "example.com/hold",
          why: "the hook was applied over an object that is still being deleted",
        },
      ],
      predictable: true,
    },
  },
});

const hookJobFails = scenario({
  name: "runtime/pre-rollback-job-fails",
  summary:
    "The target's pre-rollback hook is a Job that fails when it runs: nothing a read-only observer " +
    "can see beforehand; the rollback fails and leaves pending-rollback.",
  kubelet: { job: "app-job-hook", outcome: "Failed" },
  build: async (bench) => {
    await install(bench, { greeting: "one", jobHook: { enabled: true } });
    await upgrade(bench, { greeting: "two" });
    return { upgradeValues: { greeting: "two" } };
  },
  expected: perMode(ALL, (mode) => ({
    rollback: {
      reason: "ready",
      succeeds: false,
      // helm returns the watch's error as it is, without naming the hook.
      errors: [
        mode === "v3"
          ? /^Error: 1 error occurred:\n\t\* job app-job-hook failed: BackoffLimitExceeded$/m
          : /^Error: resource Job\/[a-z0-9-]+\/app-job-hook not ready\. status: Failed, message: Job Failed\. failed: 1\/1$/m,
      ],
      statuses: LEFT_PENDING,
    },
    upgradeAfter: UPGRADE_LOCKED,
    predictable: false,
  })),
});

// ---------------------------------------------------------------------------------------------
// ownership: an object the target declares, the current revision does not, and that exists live

const EXTRA = { extra: { enabled: true } };
const BY_HAND: LiveFact = {
  resource: "configmap/app-extra",
  jsonPath: "{.data.value}",
  value: "by-hand",
  why: "re-created by kubectl",
};

const recreatedByHand = scenario({
  name: "ownership/recreated-by-hand",
  summary:
    "Revision 1 had a ConfigMap that revision 2 removed; someone re-created it with kubectl. Rollback " +
    "never checks ownership: client-side it patches the hand-made object from the live state and " +
    "adopts it; server-side the chart's values conflict with kubectl-create's.",
  build: async (bench) => {
    await install(bench, EXTRA);
    await upgrade(bench, {});
    await kubectl(bench, ["create", "configmap", "app-extra", "--from-literal=value=by-hand"]);
    return { upgradeValues: {} };
  },
  expected: {
    ...inModes(CLIENT_SIDE, {
      rollback: READY,
      liveBefore: () => [BY_HAND],
      upgradeAfter: UPGRADE_WORKS,
      live: (s) => [
        { resource: "configmap/app-extra", jsonPath: "{.data.value}", value: "chart", why: "overwritten" },
        {
          resource: "configmap/app-extra",
          jsonPath: "{.metadata.annotations.meta\\.helm\\.sh/release-namespace}",
          value: s.namespace,
          why: "adopted: helm stamps its ownership annotations",
        },
      ],
      predictable: true,
    }),
    "v4-ssa": {
      rollback: blocked("ownership", APPLY_FAILED, [
        /resource exists on cluster but not in original release, using cluster state as baseline/,
        /^Error: conflict occurred while applying object [a-z0-9-]+\/app-extra \/v1, Kind=ConfigMap: Apply failed with 1 conflict: conflict with "kubectl-create" using v1: \.data\.value$/m,
      ]),
      liveBefore: () => [BY_HAND],
      live: () => [BY_HAND],
      upgradeAfter: UPGRADE_WORKS,
      predictable: true,
    },
  },
});

const keptObject = scenario({
  name: "ownership/kept-by-resource-policy",
  summary:
    "Revision 1 had a ConfigMap with helm.sh/resource-policy: keep; revision 2 removed it from the " +
    "chart and helm left it. Rolling back takes it back in every mode.",
  build: async (bench) => {
    await install(bench, { extra: { enabled: true, keep: true } });
    await upgrade(bench, {});
    return { upgradeValues: {} };
  },
  expected: inModes(ALL, {
    rollback: READY,
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  }),
});

const otherReleaseObject = scenario({
  name: "ownership/owned-by-another-release",
  summary:
    "Revision 1 had ConfigMap `shared`; revision 2 removed it; then release `other` installed its own " +
    "`shared`. Rolling back silently takes it from `other` in every mode (server-side too: both " +
    "releases apply as field manager `helm`), overwriting its data.",
  build: async (bench) => {
    const shared = { extra: { enabled: true, name: "shared" } };
    await install(bench, shared);
    await upgrade(bench, {});
    await install(bench, { extra: { enabled: true, name: "shared", value: "other" } }, "other");
    return { upgradeValues: {} };
  },
  expected: inModes(ALL, {
    rollback: READY,
    liveBefore: () => [
      {
        resource: "configmap/shared",
        jsonPath: "{.metadata.annotations.meta\\.helm\\.sh/release-name}",
        value: "other",
        why: "owned by release other",
      },
    ],
    upgradeAfter: UPGRADE_WORKS,
    live: () => [
      {
        resource: "configmap/shared",
        jsonPath: "{.data.value}",
        value: "chart",
        why: "other's value overwritten",
      },
      {
        resource: "configmap/shared",
        jsonPath: "{.metadata.annotations.meta\\.helm\\.sh/release-name}",
        value: RELEASE,
        why: "taken from release other",
      },
    ],
    predictable: true,
  }),
});

// ---------------------------------------------------------------------------------------------
// namespace_terminating, target_failed

const terminatingNamespace = scenario({
  name: "namespace_terminating/release-namespace-deleted",
  summary:
    "The release namespace was deleted and stays Terminating (a finalizer: here the namespace " +
    "controller's own, as the test control plane has none). Helm cannot write the new release record.",
  build: async (bench) => {
    await twoRevisions(bench);
    await run("kubectl", ["delete", "namespace", bench.namespace, "--wait=false"]);
    return { upgradeValues: { greeting: "three" } };
  },
  expected: inModes(ALL, {
    rollback: blocked("namespace_terminating", { 1: "superseded", 2: "deployed" }, [
      /^Error: create: failed to create: secrets "sh\.helm\.release\.v1\.app\.v3" is forbidden: unable to create new content in namespace [a-z0-9-]+ because it is being terminated$/m,
    ]),
    upgradeBefore: {
      reason: "namespace_terminating",
      succeeds: false,
      errors: [
        /^Error: UPGRADE FAILED: create: failed to create: secrets "sh\.helm\.release\.v1\.app\.v3" is forbidden: unable to create new content in namespace [a-z0-9-]+ because it is being terminated$/m,
      ],
      statuses: { 1: "superseded", 2: "deployed" },
    },
    upgradeAfter: { succeeds: false, errors: [/because it is being terminated/] },
    predictable: true,
  }),
});

const targetFailed = scenario({
  name: "target_failed/apiserver-refused-an-object",
  summary:
    "Revision 2 failed (the apiserver refused an object), revision 3 fixed it: a bare rollback " +
    "targets the failed revision 2 and fails the same way.",
  build: async (bench) => {
    await install(bench, {});
    await failedUpgrade(bench);
    await upgrade(bench, { greeting: "three" });
    return { upgradeValues: { greeting: "three" } };
  },
  expected: perMode(ALL, (mode) => ({
    rollback: blocked("target_failed", { 1: "superseded", 2: "failed", 3: "superseded", 4: "failed" }, [
      new RegExp(
        "^Error: failed to create resource: " +
          (mode === "v4-ssa"
            ? `server-side apply failed for object ${NS}/app_Invalid /v1, Kind=ConfigMap: `
            : "") +
          'ConfigMap "app_Invalid" is invalid: metadata.name: Invalid value: "app_Invalid": a lowercase RFC 1123 subdomain',
        "m",
      ),
    ]),
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  })),
});

// ---------------------------------------------------------------------------------------------
// Upgrade blockers: pending, no_deployed

const pendingUpgrade = scenario({
  name: "pending/stuck-pending-upgrade",
  summary:
    "helm was killed while it waited for a post-upgrade hook Job: revision 2 stays pending-upgrade. " +
    "Upgrade is refused by the lock; rollback ignores the lock, targets revision 1 and succeeds " +
    "(revision 2 stays pending-upgrade in the history), after which upgrades work again.",
  kubelet: { job: `${RELEASE}-migrate`, outcome: "Complete" },
  build: async (bench) => {
    await leavePendingUpgrade(kubeConfig(), bench.mode.setupMajor, RELEASE, bench.namespace);
    return { chart: fixtureChart("hook-job"), upgradeValues: {} };
  },
  // leavePendingUpgrade installs with each helm's default: v3, or v4 server-side.
  expected: inModes(["v3", "v4-ssa"], {
    upgradeBefore: {
      reason: "pending",
      succeeds: false,
      errors: [/^Error: UPGRADE FAILED: another operation \(install\/upgrade\/rollback\) is in progress$/m],
      statuses: { 1: "deployed", 2: "pending-upgrade" },
    },
    rollback: {
      reason: "ready",
      succeeds: true,
      statuses: { 1: "superseded", 2: "pending-upgrade", 3: "deployed" },
    },
    upgradeAfter: UPGRADE_WORKS,
    predictable: true,
  }),
});

const noDeployed = scenario({
  name: "no_deployed/uninstalled-keep-history",
  summary:
    "`helm uninstall --keep-history`: the last revision is uninstalled and none is deployed. Upgrade " +
    "is refused; rollback re-deploys the previous revision (the documented way back).",
  build: async (bench) => {
    await twoRevisions(bench);
    await setupHelm(bench, ["uninstall", RELEASE, "--keep-history"]);
    return { upgradeValues: { greeting: "three" } };
  },
  expected: inModes(ALL, {
    upgradeBefore: {
      reason: "no_deployed",
      succeeds: false,
      errors: [/^Error: UPGRADE FAILED: "app" has no deployed releases$/m],
      statuses: { 1: "superseded", 2: "uninstalled" },
    },
    rollback: {
      reason: "ready",
      succeeds: true,
      statuses: { 1: "superseded", 2: "uninstalled", 3: "deployed" },
    },
    upgradeAfter: UPGRADE_WORKS,
    live: () => [
      { resource: "configmap/app-config", jsonPath: "{.data.greeting}", value: "one", why: "revision 1" },
    ],
    predictable: true,
  }),
});

/** Every scenario, in the order of issue 18's reasons. */
export const ROLLBACK_SCENARIOS: readonly Scenario[] = [
  severalRevisions,
  driftReverted,
  ssaConflict,
  conflictsForced,
  oneRevision,
  prunedTarget,
  targetNotServed,
  staleDiscovery,
  currentNotServed,
  hookNotServed("pre-rollback", "two"),
  hookNotServed("post-rollback", "one"),
  immutableFields,
  forcedReplace,
  hookConflict,
  hookReapplied,
  hookEdited,
  hookStuckDeleting,
  hookJobFails,
  recreatedByHand,
  keptObject,
  otherReleaseObject,
  terminatingNamespace,
  targetFailed,
  pendingUpgrade,
  noDeployed,
  forceReplaceServerSide,
  forceConflictsClientSide,
];

/** The value of `kubectl get <resource> -o jsonpath=<jsonPath>` in the situation's namespace. */
export async function liveValue(situation: Situation, fact: LiveFact): Promise<string> {
  const { stdout } = await run("kubectl", [
    "-n",
    situation.namespace,
    "get",
    fact.resource,
    "-o",
    `jsonpath=${fact.jsonPath}`,
  ]);
  return stdout;
}
