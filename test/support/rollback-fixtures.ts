/**
 * Rollback situations recorded from the real control plane, for fast unit tests of the pure
 * readiness analysis: a release's stored records, the live objects of its manifests and
 * rollback hooks, which of their kinds the cluster serves, its namespace's phase, and what the
 * real `helm rollback` then printed. test/integration/rollback-readiness.test.ts records them
 * (`RECORD_ROLLBACK_FIXTURES=1`) for the scenarios in RECORDED; src/analysis/rollback/
 * readiness.test.ts replays them.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { decodeReleaseNow } from "../../src/helm/decode.ts";
import type { ReleaseRecord } from "../../src/helm/release.ts";
import { kindKey, refKey, resourceRef } from "../../src/model/refs.ts";
import { kubeConfig, run } from "./cluster.ts";
import type { Expected, ModeName, Outcome, Situation } from "./rollback-scenarios.ts";

export const FIXTURE_DIR = path.join(import.meta.dirname, "../fixtures/rollback");

/** The scenarios recorded: one of each blocker (and a clean one), in the mode that shows it best. */
export const RECORDED: readonly string[] = [
  "ready/drift-reverted [v3]",
  "ssa_conflict/kubectl-scale-edit-patch [v4-ssa]",
  "immutable_field/selector-clusterip-roleref-immutable-configmap [v3]",
  "hook_conflict/leftover-hook-object [v3]",
  "hook_conflict/hook-object-stuck-deleting [v4-ssa]",
  "ownership/owned-by-another-release [v4-ssa]",
  "no_target/pruned-by-history-max [v4-csa]",
  "api_not_served/target-manifest [v4-csa]",
  "target_failed/apiserver-refused-an-object [v3]",
];

export interface ApiKindFact {
  readonly apiVersion: string;
  readonly kind: string;
  readonly served: boolean;
  readonly namespaced?: boolean;
}

export interface RollbackFixture {
  readonly scenario: string;
  readonly mode: ModeName;
  readonly release: string;
  readonly namespace: string;
  readonly targetRevision: number;
  /** Each stored revision: its labels, and its record as Helm stores it (base64 of gzipped JSON). */
  readonly records: readonly {
    readonly revision: number;
    readonly status: string;
    readonly release: string;
  }[];
  /** The kinds the records use, as discovery answered. */
  readonly kinds: readonly ApiKindFact[];
  /** Live objects of every manifest object of the last and target revisions, by refKey; null when absent. */
  readonly live: Readonly<Record<string, Readonly<Record<string, unknown>> | null>>;
  /** Live objects of the target's rollback hooks, by refKey; null when absent. */
  readonly hookObjects: Readonly<Record<string, Readonly<Record<string, unknown>> | null>>;
  readonly namespaceTerminating: boolean;
  /** What the real bare `helm rollback` did. */
  readonly helm: { readonly exitCode: number | null; readonly output: string };
  readonly expectedReason: string;
  readonly helmWordsDiffer: boolean;
}

export type RecordedSituation = Omit<RollbackFixture, "helm" | "expectedReason" | "helmWordsDiffer">;

export function decodeFixtureRecord(encoded: string): ReleaseRecord {
  const result = decodeReleaseNow(encoded);
  if (!result.ok) throw new Error(`fixture record: ${result.reason}: ${result.message}`);
  return result.record;
}

/** The cluster's API kinds: `kubectl api-resources` (apiVersion, namespaced, kind), by kindKey. */
async function apiResources(): Promise<Map<string, { resource: string; namespaced: boolean }>> {
  const { stdout } = await run("kubectl", ["api-resources", "--no-headers"]);
  const kinds = new Map<string, { resource: string; namespaced: boolean }>();
  for (const line of stdout.split("\n").filter(Boolean)) {
    const columns = line.trim().split(/\s+/);
    const [resource, kind, namespaced, apiVersion] = [
      columns[0] ?? "",
      columns.at(-1) ?? "",
      columns.at(-2) ?? "",
      columns.at(-3) ?? "",
    ];
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    kinds.set(kindKey({ apiVersion, kind }), {
      resource: group ? `${resource}.${group}` : resource,
      namespaced: namespaced === "true",
    });
  }
  return kinds;
}

async function liveObject(
  resource: string,
  name: string,
  namespace: string | undefined,
): Promise<Record<string, unknown> | null> {
  const args = [
    "get",
    resource,
    name,
    "-o",
    "json",
    "--show-managed-fields",
    "--ignore-not-found",
    ...(namespace ? ["-n", namespace] : []),
  ];
  const { stdout } = await run("kubectl", args);
  return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : null;
}

/** Everything the analysis reads of the situation, read before the rollback is attempted. */
export async function recordSituation(situation: Situation): Promise<RecordedSituation> {
  const secrets = await kubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedSecret({
      namespace: situation.namespace,
      labelSelector: `owner=helm,name=${situation.release}`,
    });
  const records = secrets.items
    .map((secret) => ({
      revision: Number(secret.metadata?.labels?.version),
      status: secret.metadata?.labels?.status ?? "",
      release: Buffer.from(secret.data?.release ?? "", "base64").toString(),
    }))
    .sort((a, b) => a.revision - b.revision);
  const decoded = records.map((record) => decodeFixtureRecord(record.release));
  const resources = await apiResources();
  const kinds = new Map<string, ApiKindFact>();
  const factOf = (apiVersion: string, kind: string): ApiKindFact => {
    const known = resources.get(kindKey({ apiVersion, kind }));
    const fact = { apiVersion, kind, served: Boolean(known), ...(known && { namespaced: known.namespaced }) };
    kinds.set(kindKey(fact), fact);
    return fact;
  };
  for (const record of decoded) {
    for (const object of record.manifest) factOf(object.apiVersion, object.kind);
    for (const hook of record.hooks) if (hook.apiVersion) factOf(hook.apiVersion, hook.kind);
  }
  const read = async (object: { apiVersion: string; kind: string; name: string; namespace?: string }) => {
    const fact = factOf(object.apiVersion, object.kind);
    const ref = resourceRef(object, situation.namespace, fact.namespaced);
    const resource = resources.get(kindKey(object))?.resource;
    return [refKey(ref), resource ? await liveObject(resource, ref.name, ref.namespace) : null] as const;
  };
  const last = decoded.at(-1);
  const target = decoded.find((record) => record.revision === situation.targetRevision);
  const live = await Promise.all(
    [...(last?.manifest ?? []), ...(target?.manifest ?? [])].map((object) => read(object)),
  );
  const hooks = await Promise.all(
    (target?.hooks ?? [])
      .filter((hook) => hook.apiVersion && hook.events.some((event) => event.endsWith("-rollback")))
      .map((hook) => read({ ...hook, apiVersion: hook.apiVersion ?? "" })),
  );
  const namespace = await liveObject("namespaces", situation.namespace, undefined);
  const metadata = (namespace?.metadata ?? {}) as { deletionTimestamp?: string };
  return {
    scenario: situation.scenario,
    mode: situation.mode.name,
    release: situation.release,
    namespace: situation.namespace,
    targetRevision: situation.targetRevision,
    records,
    kinds: [...kinds.values()],
    live: Object.fromEntries(live),
    hookObjects: Object.fromEntries(hooks),
    namespaceTerminating: !namespace || Boolean(metadata.deletionTimestamp),
  };
}

export function saveFixture(recorded: RecordedSituation, expected: Expected, rollback: Outcome): void {
  const fixture: RollbackFixture = {
    ...recorded,
    helm: { exitCode: rollback.exitCode, output: rollback.output },
    expectedReason: expected.rollback.reason,
    helmWordsDiffer: Boolean(expected.helmWordsDiffer),
  };
  const file = `${recorded.scenario.replaceAll("/", "--")}.${recorded.mode}.json`;
  writeFileSync(path.join(FIXTURE_DIR, file), `${JSON.stringify(fixture, null, 1)}\n`);
}

export function loadFixtures(): RollbackFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(path.join(FIXTURE_DIR, file), "utf8")) as RollbackFixture);
}

/**
 * Whether helm's output says what a blocker's message says, in the same words: `...` stands for
 * what the exporter cannot know; helm v3 wraps hook errors in a multierror list.
 */
export function wordedAsHelm(message: string, output: string): boolean {
  const text = output.replace(/\d+ errors? occurred:\n\t\* /g, "");
  let from = 0;
  for (const part of message.split("...").filter(Boolean)) {
    const at = text.indexOf(part, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}
