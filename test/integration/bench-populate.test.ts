/**
 * The benchmark's fast path (bench/populate) writes what real helm v3 writes. The same
 * releases are made twice: with real helm v3 (and real kubectl for drift) in one namespace,
 * and by the fast path (stamped from other real helm v3 releases, under other names) in
 * another. Release Secrets, every live object and the exporter's report must be the same,
 * namespaces, times and server-allocated values (uids, cluster IPs, node ports) aside.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Api, collectionPath, Resources, type Resource } from "../../bench/populate/kube.ts";
import { DRIFT_KINDS, plan } from "../../bench/populate/plan.ts";
import { populate } from "../../bench/populate.ts";
import { driftViaApi, driftViaKubectl } from "../../bench/populate/drift.ts";
import { stampRelease } from "../../bench/populate/fast.ts";
import {
  decodeRecord,
  readTemplate,
  recordTimes,
  type ReleaseRecord,
} from "../../bench/populate/template.ts";
import { helmRelease, type Tools } from "../../bench/populate/tools.ts";
import { clusterEnv } from "../../controlplane/cluster-info.ts";
import { assertWrittenBetween } from "../support/clock.ts";
import { clusterInfo, createNamespace } from "../support/cluster.ts";
import { scanJson } from "../support/exporter.ts";

const REVISIONS = 3;
/** Release names: the templates' and the compared releases' differ, so renaming is tested too. */
const TEMPLATE = { ok: "bench-00000", failed: "bench-00002" };
const RELEASE = { drifted: "bench-00001", failed: "bench-00003" };

const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g;
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    managedFields?: { time?: string }[];
  };
  type?: string;
  data?: Record<string, string>;
  spec?: Record<string, unknown> & { ports?: Record<string, unknown>[] };
}

/** The text with the namespace replaced by <ns>, times by <time>, uids by <uid>. */
function normalizeText(text: string, namespace: string): string {
  return text.replaceAll(namespace, "<ns>").replace(TIME, "<time>").replace(UID, "<uid>");
}

function normalizeObject(object: KubeObject, namespace: string): unknown {
  const copy = structuredClone(object);
  delete copy.metadata.uid;
  delete copy.metadata.resourceVersion;
  delete copy.metadata.creationTimestamp;
  for (const entry of copy.metadata.managedFields ?? []) delete entry.time;
  const spec = copy.spec;
  if (spec && "clusterIP" in spec) {
    // Allocated by the apiserver for each Service.
    if (spec.clusterIP !== "None") spec.clusterIP = spec.clusterIPs = "<allocated>";
    if ("healthCheckNodePort" in spec) spec.healthCheckNodePort = "<allocated>";
    for (const port of spec.ports ?? []) if ("nodePort" in port) port.nodePort = "<allocated>";
  }
  return JSON.parse(normalizeText(JSON.stringify(copy), namespace));
}

/** Helm's unix-seconds labels (modifiedAt, createdAt) replaced by <time>; their presence stays compared. */
function withoutTimeLabels(secret: KubeObject): KubeObject {
  const labels = { ...secret.metadata.labels };
  for (const key of ["modifiedAt", "createdAt"]) if (key in labels) labels[key] = "<time>";
  return { ...secret, metadata: { ...secret.metadata, labels } };
}

describe("bench populate", { concurrency: true }, () => {
  it("writes through its fast path what real helm v3 and kubectl write", async () => {
    const info = clusterInfo();
    const tools: Tools = { kubeconfig: info.kubeconfig, binDir: info.binDir, env: clusterEnv(info) };
    const [templates, real, fast] = await Promise.all([
      createNamespace("popeq-tpl"),
      createNamespace("popeq-helm"),
      createNamespace("popeq-fast"),
    ]);
    await Promise.all([
      helmRelease(tools, "v3", {
        namespace: templates,
        name: TEMPLATE.ok,
        revisions: REVISIONS,
        failed: false,
      }),
      helmRelease(tools, "v3", {
        namespace: templates,
        name: TEMPLATE.failed,
        revisions: REVISIONS,
        failed: true,
      }),
      helmRelease(tools, "v3", {
        namespace: real,
        name: RELEASE.drifted,
        revisions: REVISIONS,
        failed: false,
      }),
      helmRelease(tools, "v3", { namespace: real, name: RELEASE.failed, revisions: REVISIONS, failed: true }),
    ]);
    const api = await Api.connect(info.kubeconfig, 8);
    try {
      const resources = new Resources(api);
      const okTemplate = await readTemplate(api, resources, { namespace: templates, name: TEMPLATE.ok });
      const failedTemplate = await readTemplate(api, resources, {
        namespace: templates,
        name: TEMPLATE.failed,
      });
      assert.deepEqual(
        failedTemplate.revisions.map((r) => r.status),
        ["superseded", "deployed", "failed"],
      );
      const beforeStamp = Date.now();
      await stampRelease(api, okTemplate, { namespace: fast, name: RELEASE.drifted });
      await stampRelease(api, failedTemplate, { namespace: fast, name: RELEASE.failed });
      const afterStamp = Date.now();
      for (const kind of DRIFT_KINDS) {
        await driftViaKubectl(tools, { namespace: real, name: RELEASE.drifted }, kind);
        await driftViaApi(api, { namespace: fast, name: RELEASE.drifted }, kind);
      }

      // 1. Release Secrets: names, type, labels, managedFields and the decoded records.
      const releaseSecrets = async (namespace: string) => {
        const list = await api.getJson<{ items: KubeObject[] }>(
          `/api/v1/namespaces/${namespace}/secrets?labelSelector=owner%3Dhelm`,
        );
        return new Map(list.items.map((secret) => [secret.metadata.name, secret]));
      };
      const helmSecrets = await releaseSecrets(real);
      const fastSecrets = await releaseSecrets(fast);
      assert.deepEqual([...fastSecrets.keys()].sort(), [...helmSecrets.keys()].sort());
      assert.equal(helmSecrets.size, 2 * REVISIONS);
      const newestTimes = new Map<string, number>(); // per release: the fast path moves its newest time to now
      for (const [name, helmSecret] of helmSecrets) {
        const fastSecret = fastSecrets.get(name);
        assert.ok(fastSecret);
        const { data: helmData, ...helmRest } = withoutTimeLabels(helmSecret);
        const { data: fastData, ...fastRest } = withoutTimeLabels(fastSecret);
        assert.deepEqual(normalizeObject(fastRest, fast), normalizeObject(helmRest, real), name);
        assert.deepEqual(Object.keys(fastData ?? {}), ["release"]);
        const helmRecord = decodeRecord(helmData?.release ?? "");
        const fastRecord = decodeRecord(fastData?.release ?? "");
        assert.deepEqual(
          JSON.parse(normalizeText(fastRecord, fast)),
          JSON.parse(normalizeText(helmRecord, real)),
          `${name}: decoded record`,
        );
        assert.equal(
          normalizeText(fastRecord, fast),
          normalizeText(helmRecord, real),
          `${name}: record JSON bytes`,
        );
        const gzipHeader = (data: string | undefined) =>
          Buffer.from(Buffer.from(data ?? "", "base64").toString("latin1"), "base64")
            .subarray(0, 10)
            .toString("hex");
        assert.equal(gzipHeader(fastData?.release), gzipHeader(helmData?.release), `${name}: gzip header`);
        const release = name.replace(/\.v\d+$/, "");
        const times = recordTimes(JSON.parse(fastRecord) as ReleaseRecord).map(Date.parse);
        newestTimes.set(release, Math.max(newestTimes.get(release) ?? 0, ...times));
      }
      for (const [release, newest] of newestTimes) {
        assertWrittenBetween(
          new Date(newest).toISOString(),
          beforeStamp,
          afterStamp,
          `${release}: times are now`,
        );
      }

      // 2. Every live object of the kinds the chart makes (release Secrets aside).
      const kinds = new Map<string, Resource>();
      for (const revision of okTemplate.revisions) {
        for (const object of revision.objects)
          kinds.set(`${object.resource.base}/${object.resource.plural}`, object.resource);
      }
      const liveObjects = async (namespace: string) => {
        const objects = new Map<string, unknown>();
        for (const [key, resource] of kinds) {
          const list = await api.getJson<{ items: KubeObject[] }>(collectionPath(resource, namespace));
          for (const object of list.items) {
            if (object.type === "helm.sh/release.v1") continue;
            if (!resource.namespaced && !object.metadata.name.startsWith(`${namespace}-`)) continue;
            objects.set(
              `${key} ${normalizeText(object.metadata.name, namespace)}`,
              normalizeObject(object, namespace),
            );
          }
        }
        return objects;
      };
      const helmObjects = await liveObjects(real);
      const fastObjects = await liveObjects(fast);
      assert.deepEqual([...fastObjects.keys()].sort(), [...helmObjects.keys()].sort());
      assert.equal(helmObjects.size, 2 * 21 - 1, "two releases of 21 objects, one Service deleted by drift");
      for (const [key, helmObject] of helmObjects) assert.deepEqual(fastObjects.get(key), helmObject, key);

      // 3. What the exporter reports.
      const report = async (namespace: string) => {
        const scan = await scanJson([namespace]);
        assert.equal(scan.json.scan.success, true, scan.stderr);
        const releases = scan.json.releases.sort((a, b) => a.release.localeCompare(b.release));
        return JSON.parse(normalizeText(JSON.stringify(releases), namespace)) as typeof releases;
      };
      const helmReport = await report(real);
      const fastReport = await report(fast);
      assert.deepEqual(fastReport, helmReport);
      const [drifted, failed] = helmReport;
      assert.equal(drifted?.status, "deployed");
      assert.equal(drifted.drift?.missing, 1);
      assert.equal(drifted.drift.modified, 3);
      assert.equal(failed?.status, "failed");
      assert.equal(failed.deployedRevision, REVISIONS - 1);
      assert.equal(failed.drift?.inSync, true);
    } finally {
      api.close();
    }
  });

  it("populates a small fleet the exporter reads as planned", async () => {
    const info = clusterInfo();
    const options = {
      releases: 6,
      revisions: 2,
      namespaces: 2,
      realHelm: 3,
      driftShare: 0.5,
      failedShare: 0.34,
      namespacePrefix: `popeq-run-${randomBytes(3).toString("hex")}-`,
    };
    const lines: string[] = [];
    const result = await populate({
      ...options,
      kubeconfig: info.kubeconfig,
      binDir: info.binDir,
      env: clusterEnv(info),
      concurrency: 4,
      log: (line) => lines.push(line),
    });
    const planned = plan(options);
    assert.deepEqual(
      result.releases,
      planned.map((r) => ({
        namespace: r.namespace,
        name: r.name,
        via: r.via,
        drifted: r.drift !== undefined,
        failed: r.failed,
        revisions: r.revisions,
      })),
      "the same options give the same releases",
    );
    const summary = result.releases.map((r) => `${r.via} ${r.failed ? "failed" : "ok"} ${String(r.drifted)}`);
    assert.deepEqual(summary, [
      "helm-v3 ok true",
      "fast failed true",
      "helm-v4 ok false",
      "fast ok false",
      "helm-v3 failed true",
      "fast ok false",
    ]);
    assert.equal(result.objects, 6 * 21);
    assert.equal(result.releaseSecrets, 6 * 2);
    assert.equal(result.chart, "realworld-1.4.2");
    assert.match(lines.join("\n"), /objects\/s/);

    const scan = await scanJson([...new Set(result.releases.map((r) => r.namespace))]);
    assert.equal(scan.json.scan.success, true, scan.stderr);
    for (const release of result.releases) {
      const found = scan.json.releases.find(
        (r) => r.namespace === release.namespace && r.release === release.name,
      );
      assert.ok(found, `${release.name} is in the scan`);
      assert.equal(found.status, release.failed ? "failed" : "deployed", release.name);
      assert.equal(found.revisions, 2, release.name);
      assert.equal(found.drift?.inSync, !release.drifted, `${release.name}: ${JSON.stringify(found.drift)}`);
      assert.equal(found.applyMethod, release.via === "helm-v4" ? "ssa" : "csa");
    }
  });
});
