import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { aliasBombManifest, encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { jsonErrorPosition } from "./json-position.ts";
import {
  decodeBase64,
  decodeRelease,
  decodeReleaseNow,
  MAX_DESCRIPTION_CHARS,
  MAX_HOOKS,
  MAX_NAME_CHARS,
  parseTime,
} from "./decode.ts";

function decodeOk(encoded: string) {
  const result = decodeReleaseNow(encoded);
  assert.ok(result.ok, `expected a record, got ${JSON.stringify(result)}`);
  return result.record;
}

function decodeFails(encoded: string, reason: string, limits = { maxDecodedBytes: 1024 * 1024 }) {
  const result = decodeReleaseNow(encoded, limits);
  assert.ok(!result.ok, `expected ${reason}, got a record`);
  assert.equal(result.reason, reason, result.message);
  assert.ok(result.message.length > 0);
  return result.message;
}

/** A hook whose manifest expands through aliases to about `kib` KiB of JSON. */
function aliasHook(index: number, kib: number) {
  const long = "x".repeat(1024);
  return {
    name: `hook-${String(index)}`,
    kind: "ConfigMap",
    path: "t/hook.yaml",
    manifest: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h${String(index)}}\ndata:\n  a: &a ${long}\n  b: [${Array(kib).fill("*a").join(", ")}]\n`,
    events: ["pre-install"],
  };
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

  it("spends one alias budget for the manifest and all hooks of a record", () => {
    // Each hook expands to ~300 KiB, under the 1 MiB bound on its own; five together are not.
    const limits = { maxDecodedBytes: 1024 * 1024 };
    const hooks = (count: number) => Array.from({ length: count }, (_, index) => aliasHook(index, 300));
    assert.ok(decodeReleaseNow(encodeRelease(releaseRecord({ hooks: hooks(2) })), limits).ok);
    const message = decodeFails(encodeRelease(releaseRecord({ hooks: hooks(5) })), "manifest", limits);
    assert.match(message, /hook's the manifests expand through YAML aliases/);
  });

  it("keeps a bounded description and chart metadata, saying how much was cut", () => {
    const record = releaseRecord();
    (record.info as Record<string, unknown>).description = "d".repeat(5 * 1024 * 1024);
    (record.chart as { metadata: Record<string, unknown> }).metadata.appVersion = "v".repeat(100_000);
    const decoded = decodeOk(encodeRelease(record));
    assert.ok(decoded.description.length < MAX_DESCRIPTION_CHARS + 100);
    assert.match(decoded.description, /^d+… \[5226496 more characters not shown\]$/);
    assert.ok(decoded.chart.appVersion.length < MAX_NAME_CHARS + 100);
  });

  it("refuses a record with more hooks than any chart has", () => {
    const hooks = Array.from({ length: MAX_HOOKS + 1 }, (_, index) => ({
      name: `h${String(index)}`,
      kind: "Job",
    }));
    decodeFails(encodeRelease(releaseRecord({ hooks })), "schema");
  });

  it("never quotes the record in a JSON error: it may hold Helm values", () => {
    const json = '{"name":"web","config":{"password":"hunter2"} "manifest":""}';
    const message = decodeFails(Buffer.from(json).toString("base64"), "json");
    assert.doesNotMatch(message, /hunter2|password|manifest/);
    assert.match(message, /at line 1, column 47/);
  });

  it("stops when the scan is aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("scan timed out"));
    await assert.rejects(
      decodeRelease(encodeRelease(releaseRecord()), undefined, controller.signal),
      /timed out/,
    );
  });
});

describe("jsonErrorPosition", () => {
  const cases: [string, string][] = [
    ['{"a": 1,}', "at line 1, column 9"],
    ['{"a" 1}', "at line 1, column 6"],
    ["[1, 2", "at line 1, column 6"],
    ['{\n  "a": tru\n}', "at line 2, column 8"],
    ['{"a": "b"} x', "at line 1, column 12"],
    ['{"a": "\u0001"}', "at line 1, column 7"],
    ["[01]", "at line 1, column 3"],
    ["", "at line 1, column 1"],
  ];
  for (const [text, position] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(() => JSON.parse(text) as unknown);
      assert.equal(jsonErrorPosition(text), position);
    });
  }
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
    assert.equal(decodeBase64(" aGVsbG8h ")?.toString(), "hello!");
    assert.equal(decodeBase64("aGVsbG==")?.toString(), "hell");
    assert.equal(decodeBase64("")?.toString(), "");
    // Buffer.from would take each of these: an early "=", the URL-safe alphabet, padding alone.
    for (const text of ["aG=sbG8=", "a-_sbG8=", "a===", "====", "aGk", "aGVsbG8*"])
      assert.equal(decodeBase64(text), undefined, text);
  });
});
