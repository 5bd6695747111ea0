import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { aliasBombManifest } from "../../test/support/encode.ts";
import { ManifestError, parseManifest } from "./manifest.ts";

const LIMITS = { maxExpandedBytes: 1024 * 1024 };
const objectsOf = (text: string, limits = LIMITS) => parseManifest(text, limits);

describe("parseManifest", () => {
  it("splits documents, keeps sources and namespaces, expands Lists, skips empty documents", () => {
    const objects = objectsOf(
      [
        "---",
        "# Source: c/templates/a.yaml",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: a",
        "  namespace: other",
        "---",
        "# Source: c/templates/empty.yaml",
        "---   # a comment may follow the separator",
        "# Source: c/templates/list.yaml",
        "apiVersion: v1",
        "kind: List",
        "items:",
        "- {apiVersion: v1, kind: Service, metadata: {name: s}}",
        "- {apiVersion: v1, kind: Secret, metadata: {name: t}}",
        "---",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: no-source}",
      ].join("\n"),
    );
    assert.deepEqual(
      objects.map((o) => [o.kind, o.name, o.namespace, o.source]),
      [
        ["ConfigMap", "a", "other", "c/templates/a.yaml"],
        ["Service", "s", undefined, "c/templates/list.yaml"],
        ["Secret", "t", undefined, "c/templates/list.yaml"],
        ["ConfigMap", "no-source", undefined, undefined],
      ],
    );
  });

  it("reads scalars as Kubernetes does (YAML 1.1) and lets the last duplicate key win", () => {
    const [object] = objectsOf(
      "apiVersion: v1\nkind: X\nmetadata: {name: x}\nspec: {a: yes, b: 0755, c: '0755', t: 12:30, d: 2001-12-14, e: 1, e: 2}\n",
    );
    assert.deepEqual(object?.body.spec, { a: true, b: 493, c: "0755", t: "12:30", d: "2001-12-14", e: 2 });
  });

  it("reads deeply nested CRD schemas", () => {
    const depth = 300;
    const nested = `${"{a: ".repeat(depth)}1${"}".repeat(depth)}`;
    const [object] = objectsOf(`apiVersion: v1\nkind: X\nmetadata: {name: x}\nspec: ${nested}\n`);
    assert.ok(object?.body.spec);
  });

  it("stops an alias bomb before expanding it", (t) => {
    const started = performance.now();
    assert.throws(
      () => objectsOf(aliasBombManifest()),
      (error: unknown) =>
        error instanceof ManifestError && error.message.includes("expand through YAML aliases"),
    );
    // 9^9 expanded strings would take minutes and gigabytes (the runner's timeout would end the
    // test); refused, it takes milliseconds. Reported, not asserted: a busy machine is no bug.
    t.diagnostic(`refused in ${(performance.now() - started).toFixed(0)} ms`);
  });

  it("counts a long string once per alias to it", () => {
    const long = "x".repeat(10_000);
    const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: &a ${long}\n  b: [${Array(200).fill("*a").join(", ")}]\n`;
    assert.throws(() => objectsOf(manifest), /expand through YAML aliases/);
    assert.equal(objectsOf(manifest, { maxExpandedBytes: 4 * 1024 * 1024 }).length, 1);
  });

  it("reads a manifest with ordinary anchors and aliases", () => {
    const [object] = objectsOf(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {app: x}}\ndata: {copy: *l}\n",
    );
    assert.deepEqual(object?.body.data, { copy: { app: "x" } });
  });

  it("never quotes the manifest in an error: it may hold Secret data", () => {
    const manifest =
      "# Source: c/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: hunter2\n  token: [unclosed\n";
    assert.throws(
      () => objectsOf(`---\n${manifest}`),
      (error: unknown) =>
        error instanceof ManifestError &&
        !error.message.includes("hunter2") &&
        !error.message.includes("unclosed") &&
        /line \d+, column \d+/.test(error.message),
    );
  });

  it("gives the line of an error in the whole manifest, not in its document", () => {
    assert.throws(
      () =>
        objectsOf(
          "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B: C\nmetadata: {name: b}\n",
        ),
      /at line 6,/,
    );
  });

  it("refuses content after a document separator, as Kubernetes' YAML reader does", () => {
    assert.throws(
      () => objectsOf("apiVersion: v1\nkind: A\nmetadata: {name: a}\n--- {kind: B}\n"),
      /content after a document separator on line 4/,
    );
  });
});
