/**
 * Release records crafted by someone who may only create Secrets in one namespace, against the
 * real exporter and control plane: they must never make it publish another Secret's data, read
 * outside its scope, or run out of memory.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { releaseRecord } from "../support/encode.ts";
import { createNamespace, kubeConfig, run } from "../support/cluster.ts";
import { runExporter, scanJson, startServer, waitReady } from "../support/exporter.ts";
import { writeReleaseSecret } from "../support/records.ts";

const MARKER = "hunter2-do-not-publish";
const MARKER_BASE64 = Buffer.from(MARKER).toString("base64");
const leaks = (text: string) => text.includes(MARKER) || text.includes(MARKER_BASE64);

function secretManifest(namespace: string, name: string, shape: string): string {
  return `---\n# Source: evil/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${shape}\n`;
}

describe("crafted release records", () => {
  it("never publish a Secret's data, whatever shape the manifest gives it", async () => {
    const ns = await createNamespace("crafted");
    const other = await createNamespace("crafted-other");
    const core = kubeConfig().makeApiClient(CoreV1Api);
    // Targets: one labelled as Helm labels, one applied with kubectl (its last-applied annotation holds the data).
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "db", labels: { "app.kubernetes.io/managed-by": "Helm" } },
        stringData: { password: MARKER },
      },
    });
    await run("kubectl", [
      "-n",
      ns,
      "create",
      "secret",
      "generic",
      "api",
      "--from-literal",
      `token=${MARKER}`,
      "--dry-run=client",
      "-o",
      "yaml",
    ]).then(({ stdout }) => run("sh", ["-c", `printf '%s' "$0" | kubectl apply -f -`, stdout]));
    await core.createNamespacedSecret({
      namespace: other,
      body: { metadata: { name: "elsewhere" }, stringData: { password: MARKER } },
    });
    const manifests: [string, string][] = [
      ["data-string", secretManifest(ns, "db", 'data: "x"')],
      ["data-list", secretManifest(ns, "db", "data: [x]")],
      [
        "annotations-string",
        `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: ${ns}\n  annotations: "x"\n`,
      ],
    ];
    for (const [release, manifest] of manifests)
      await writeReleaseSecret(ns, releaseRecord({ name: release, namespace: ns, manifest }));
    await writeReleaseSecret(
      ns,
      releaseRecord({
        name: "widen",
        namespace: ns,
        manifest: secretManifest(other, "elsewhere", 'data: "x"'),
      }),
    );

    // In scope but another team's: a ConfigMap of a release in `other`, and a record that claims to be stored there.
    await run("kubectl", [
      "-n",
      other,
      "create",
      "configmap",
      "team-config",
      `--from-literal=token=${MARKER}`,
    ]);
    await run("kubectl", [
      ...["-n", other, "annotate", "configmap", "team-config"],
      ...["meta.helm.sh/release-name=theirs", `meta.helm.sh/release-namespace=${other}`],
    ]);
    await writeReleaseSecret(
      ns,
      releaseRecord({
        name: "peek",
        namespace: ns,
        manifest: `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-config\n  namespace: ${other}\ndata: "x"\n`,
      }),
    );
    await writeReleaseSecret(ns, { ...releaseRecord({ name: "impostor", namespace: other }) });

    const both = await scanJson([ns, other]);
    assert.ok(!leaks(JSON.stringify(both.json)), "another namespace's ConfigMap is published");
    assert.deepEqual(
      both.release("peek").drift?.resources[0]?.fields.map((field) => field.path),
      [
        "data",
        'metadata.labels["app.kubernetes.io/managed-by"]',
        'metadata.annotations["meta.helm.sh/release-name"]',
        'metadata.annotations["meta.helm.sh/release-namespace"]',
      ],
    );
    assert.equal(both.release("impostor").unreadable?.reason, "schema");
    assert.match(both.release("impostor").unreadable?.message ?? "", /stored as "impostor" in/);

    const scan = await scanJson([ns]);
    assert.ok(!leaks(JSON.stringify(scan.json)), "scan --output json leaks a Secret");
    const drifted = scan.release("data-string").drift?.resources[0];
    assert.equal(drifted?.state, "modified", "the shape is still reported as drift");
    assert.deepEqual(
      drifted.fields.filter((field) => field.path === "data").map((field) => [field.declared, field.live]),
      [["(redacted)", "(redacted)"]],
    );
    const widen = scan.release("widen").drift?.resources[0];
    assert.deepEqual([widen?.state, widen?.uncheckedReason], ["unchecked", "out_of_scope"]);

    const diff = await runExporter(["scan", "--diff", "--namespaces", ns]);
    assert.ok(diff.stdout.includes("(redacted)"), diff.stdout);
    assert.ok(!leaks(diff.stdout + diff.stderr), "scan --diff leaks a Secret");

    const server = await startServer(["--namespaces", ns]);
    try {
      await waitReady(server);
      const api = await (await fetch(`${server.url}/api/v1/releases`)).text();
      assert.ok(api.includes("annotations-string"), api.slice(0, 500));
      assert.ok(!leaks(api), "/api/v1/releases leaks a Secret");
      assert.ok(!leaks(await (await fetch(`${server.url}/metrics`)).text()));
      assert.ok(!leaks(server.logs()), "the logs leak a Secret");
    } finally {
      await server.stop();
    }
  });

  it("a few small records with huge descriptions neither crash the exporter nor get published whole", async () => {
    const ns = await createNamespace("crafted-big");
    for (let index = 0; index < 5; index++) {
      const record = releaseRecord({ name: `big${String(index)}`, namespace: ns });
      (record.info as Record<string, unknown>).description = "x".repeat(60 * 1024 * 1024);
      await writeReleaseSecret(ns, record);
    }
    const server = await startServer([
      "--namespaces",
      ns,
      "--scan.heap-limit",
      "256Mi",
      "--schedule",
      "*/5 * * * * *",
    ]);
    try {
      await waitReady(server);
      const { releases } = (await (await fetch(`${server.url}/api/v1/releases`)).json()) as {
        releases: { release: string; description: string }[];
      };
      assert.equal(releases.length, 5);
      for (const release of releases) {
        assert.ok(
          release.description.length < 20_000,
          `${release.release}: ${String(release.description.length)}`,
        );
        assert.match(release.description, /more characters not shown\]$/);
      }
      // Later scans run on the same heap: the process must still be there for them.
      const scans = async () =>
        Number(
          /helm_drift_exporter_scans_total\{result="success"\} (\d+)/.exec(
            await (await fetch(`${server.url}/metrics`)).text(),
          )?.[1] ?? 0,
        );
      const first = await scans();
      while ((await scans()) < first + 2) await new Promise((resolve) => setTimeout(resolve, 500));
      assert.doesNotMatch(server.logs(), /scanner process failed|out of memory/i);
    } finally {
      assert.equal(await server.stop(), 0, "exited cleanly, not aborted");
    }
  });
});
