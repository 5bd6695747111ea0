/**
 * The quantity table the drift comparison is tested against (src/testing/quantities.ts),
 * checked against the real apiserver: every declared value, YAML numbers unquoted, goes
 * through kubectl's YAML -> JSON (the path Helm's manifests take) into a ResourceList and a
 * lone quantity, and is read back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseQuantity, quantitiesEqual, type QuantityPrecision } from "../../src/analysis/drift/quantity.ts";
import { STORED_QUANTITIES } from "../support/quantities.ts";
import { createNamespace, run, tempFile } from "../support/cluster.ts";

/** A YAML scalar as a manifest would hold it: numbers plain, strings quoted. */
const yamlScalar = (value: number | string) =>
  typeof value === "number" ? String(value) : JSON.stringify(value);

describe("quantities", () => {
  it("the apiserver stores what the table says, and the comparison agrees", async () => {
    const ns = await createNamespace("quantities");
    // One container and one emptyDir per value: a Pod is created without a kubelet, never runs.
    const manifest = [
      "apiVersion: v1",
      "kind: Pod",
      "metadata: { name: quantities }",
      "spec:",
      "  containers:",
      ...STORED_QUANTITIES.map(
        ([declared], index) =>
          `    - { name: c${String(index)}, image: registry.example/none, resources: { requests: { cpu: ${yamlScalar(declared)} } } }`,
      ),
      "  volumes:",
      ...STORED_QUANTITIES.map(
        ([declared], index) =>
          `    - { name: v${String(index)}, emptyDir: { sizeLimit: ${yamlScalar(declared)} } }`,
      ),
    ];
    const file = tempFile("pod.yaml", manifest);
    await run("kubectl", ["-n", ns, "apply", "-f", file]);
    const pod = JSON.parse(
      (await run("kubectl", ["-n", ns, "get", "pod", "quantities", "-o", "json"])).stdout,
    ) as {
      spec: {
        containers: { resources: { requests: { cpu: string } } }[];
        volumes: { emptyDir: { sizeLimit: string } }[];
      };
    };
    const inResourceList = pod.spec.containers.map((container) => container.resources.requests.cpu);
    const alone = pod.spec.volumes.map((volume) => volume.emptyDir.sizeLimit);
    assert.deepEqual(
      STORED_QUANTITIES.map(([declared], index) => [declared, inResourceList[index], alone[index]]),
      STORED_QUANTITIES,
    );
    STORED_QUANTITIES.forEach(([declared], index) => {
      const equal = (stored: string | undefined, precision: QuantityPrecision) => {
        const [a, b] = [parseQuantity(declared, precision), parseQuantity(stored, precision)];
        return a !== undefined && b !== undefined && quantitiesEqual(a, b);
      };
      assert.ok(
        equal(inResourceList[index], "milli"),
        `${String(declared)} = ${String(inResourceList[index])}`,
      );
      assert.ok(equal(alone[index], "nano"), `${String(declared)} = ${String(alone[index])}`);
    });
  });
});
