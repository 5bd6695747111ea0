import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { aliasBombManifest, encodeRelease, releaseRecord } from "../testing/encode.ts";
import { decodeBase64, decodeRelease, parseTime } from "./decode.ts";

function decodeOk(encoded: string) {
  const result = decodeRelease(encoded);
  assert.ok(result.ok, `expected a record, got ${JSON.stringify(result)}`);
  return result.record;
}

function decodeFails(encoded: string, reason: string, limits = { maxDecodedBytes: 1024 * 1024 }) {
  const result = decodeRelease(encoded, limits);
  assert.ok(!result.ok, `expected ${reason}, got a record`);
  assert.equal(result.reason, reason, result.message);
  assert.ok(result.message.length > 0);
}

describe("decodeRelease", () => {
  it("decodes a Helm 3 record (gzip, empty zero times, no apply_method)", () => {
    const record = decodeOk(encodeRelease(releaseRecord()));
    assert.equal(record.name, "web");
    assert.equal(record.namespace, "apps");
    assert.equal(record.revision, 1);
    assert.equal(record.status, "deployed");
    assert.equal(record.applyMethod, "csa");
    assert.equal(record.deleted, undefined);
    assert.equal(record.lastDeployed?.toISOString(), "2026-11-21T11:30:00.500Z");
    assert.deepEqual(record.chart, { name: "web", version: "1.2.3", appVersion: "4.5.6" });
    assert.equal(record.manifest.length, 1);
    assert.equal(record.manifest[0]?.source, "web/templates/cm.yaml");
  });

  it("decodes a Helm 4 record (apply_method ssa, zero times omitted)", () => {
    const record = decodeOk(encodeRelease(releaseRecord({ helm4: true })));
    assert.equal(record.applyMethod, "ssa");
    assert.equal(record.deleted, undefined);
  });

  it("decodes an old uncompressed record", () => {
    const record = decodeOk(Buffer.from(JSON.stringify(releaseRecord({ revision: 7 }))).toString("base64"));
    assert.equal(record.revision, 7);
  });

  it("never keeps user values or chart values", () => {
    const text = JSON.stringify(decodeOk(encodeRelease(releaseRecord())));
    assert.doesNotMatch(text, /user-supplied-secret|chart-default-secret|c2VjcmV0/);
  });

  it("decodes hooks with their last run and delete policies", () => {
    const record = decodeOk(
      encodeRelease(
        releaseRecord({
          hooks: [
            {
              name: "web-migrate",
              kind: "Job",
              path: "web/templates/job.yaml",
              manifest:
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web-migrate\n  namespace: jobs\n",
              events: ["pre-upgrade"],
              last_run: { started_at: "2026-11-21T11:29:00Z", completed_at: "", phase: "Running" },
              weight: -5,
              delete_policies: ["hook-succeeded"],
            },
          ],
        }),
      ),
    );
    assert.deepEqual(record.hooks[0], {
      apiVersion: "batch/v1",
      namespace: "jobs",
      name: "web-migrate",
      kind: "Job",
      path: "web/templates/job.yaml",
      events: ["pre-upgrade"],
      deletePolicies: ["hook-succeeded"],
      weight: -5,
      lastRun: { phase: "Running", startedAt: new Date("2026-11-21T11:29:00Z") },
    });
  });

  it("reports invalid base64", () => {
    decodeFails("not*base64!", "base64");
    decodeFails("abc", "base64");
  });

  it("reports data that is neither gzip nor JSON", () => {
    decodeFails(Buffer.from("hello, not json").toString("base64"), "json");
  });

  it("reports truncated gzip", () => {
    const gz = gzipSync(Buffer.from(JSON.stringify(releaseRecord())));
    decodeFails(gz.subarray(0, gz.length - 20).toString("base64"), "gzip");
  });

  it("stops a gzip bomb at the size bound", () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20), { level: 9 });
    assert.ok(bomb.length < 100 * 1024, "the bomb itself is small");
    decodeFails(bomb.toString("base64"), "too_large");
  });

  it("reports invalid JSON inside valid gzip", () => {
    decodeFails(gzipSync(Buffer.from('{"name": ')).toString("base64"), "json");
  });

  it("reports records with missing or invalid fields", () => {
    const broken = (change: (record: Record<string, unknown>) => void) => {
      const record = releaseRecord();
      change(record);
      return encodeRelease(record);
    };
    decodeFails(
      broken((r) => delete r.name),
      "schema",
    );
    decodeFails(
      broken((r) => delete r.info),
      "schema",
    );
    decodeFails(
      broken((r) => (r.version = "3")),
      "schema",
    );
    decodeFails(
      broken((r) => ((r.info as Record<string, unknown>).status = "exploded")),
      "schema",
    );
    decodeFails(
      broken((r) => (r.manifest = 42)),
      "schema",
    );
    decodeFails(encodeRelease([1, 2, 3]), "schema");
  });

  it("stops a YAML alias bomb in the manifest", () => {
    decodeFails(encodeRelease(releaseRecord({ manifest: aliasBombManifest() })), "manifest");
  });

  it("reports a manifest that is not YAML", () => {
    decodeFails(encodeRelease(releaseRecord({ manifest: "kind: [unclosed\n" })), "manifest");
  });
});

describe("helpers", () => {
  it("parseTime accepts RFC3339Nano and treats empty or zero times as absent", () => {
    assert.equal(parseTime("2026-01-02T03:04:05.999999999+01:00")?.toISOString(), "2026-01-02T02:04:05.999Z");
    assert.equal(parseTime(""), undefined);
    assert.equal(parseTime(undefined), undefined);
    assert.equal(parseTime("0001-01-01T00:00:00Z"), undefined);
    assert.equal(parseTime("yesterday"), undefined);
  });

  it("decodeBase64 is strict", () => {
    assert.equal(decodeBase64("aGVsbG8=")?.toString(), "hello");
    assert.equal(decodeBase64("aGVs\nbG8=")?.toString(), "hello", "line-wrapped base64 is still base64");
    assert.equal(decodeBase64("aGVsbG8"), undefined);
    assert.equal(decodeBase64("aGV$bG8="), undefined);
  });
});
