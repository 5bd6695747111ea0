import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { STORED_QUANTITIES } from "../../../test/support/quantities.ts";
import type { FieldPath } from "./path.ts";
import { parseQuantity, quantitiesEqual, quantityPrecisionAt, type QuantityPrecision } from "./quantity.ts";

const same = (a: unknown, b: unknown, precision: QuantityPrecision = "nano") => {
  const [qa, qb] = [parseQuantity(a, precision), parseQuantity(b, precision)];
  assert.ok(qa && qb, `${String(a)} and ${String(b)} parse`);
  return quantitiesEqual(qa, qb);
};

const path = (...fields: (string | number)[]): FieldPath =>
  fields.map((field) => (typeof field === "number" ? { index: field } : { field }));

describe("quantities", () => {
  it("equal what the apiserver stores for each declared value (YAML numbers included)", () => {
    for (const [declared, inResourceList, alone] of STORED_QUANTITIES) {
      assert.ok(same(declared, inResourceList, "milli"), `${JSON.stringify(declared)} = ${inResourceList}`);
      assert.ok(same(declared, alone), `${JSON.stringify(declared)} = ${alone}`);
    }
  });

  it("equal other spellings of the same value", () => {
    for (const [declared, live] of [
      [0.5, "500m"],
      [1000, "1k"],
      ["1000M", "1G"],
      ["1.5Gi", "1536Mi"],
      ["100Mi", "104857600"],
      ["1e-07", "100n"],
      ["1e+21", "1000E"],
      ["9Ei", "9223372036854775807"], // binary values are capped at the largest int64
    ] as const) {
      assert.ok(same(declared, live), `${String(declared)} = ${live}`);
    }
  });

  it("tell different values apart", () => {
    assert.equal(same("500m", "501m"), false);
    assert.equal(same("1Gi", "1G"), false);
    assert.equal(same(1, "1m"), false);
    assert.equal(same("256Mi", "512Mi"), false);
    assert.equal(same(0.1, "101m"), false);
    assert.equal(same(0.1234567891, "123456789n"), false, "rounded up, never down");
    assert.equal(same(-0.1234567891, "-123456790n"), true, "away from zero");
    assert.equal(same("9E", "9223372036854775807"), false, "only binary values are capped");
    assert.equal(same(0.0001, "1m"), false, "a lone quantity keeps 1n");
    assert.equal(same(0.0011, "2m", "milli"), true, "a ResourceList keeps 1m, rounded up");
  });

  it("reject what is not a quantity", () => {
    for (const value of ["", "abc", "1.2.3", "1Gb", "Gi", null, {}, [], "1 Gi", Number.NaN, Infinity])
      assert.equal(parseQuantity(value), undefined, JSON.stringify(value));
  });

  it("are recognised in every quantity field, with the precision the apiserver keeps", () => {
    for (const [quantity, precision] of [
      [path("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"), "milli"],
      [
        path("spec", "template", "spec", "initContainers", 0, "resources", "limits", "hugepages-2Mi"),
        "milli",
      ],
      [path("spec", "resources", "limits", "ephemeral-storage"), "milli"],
      [path("spec", "template", "spec", "overhead", "cpu"), "milli"],
      [path("overhead", "podFixed", "memory"), "milli"],
      [path("spec", "hard", "requests.cpu"), "milli"],
      [path("spec", "capacity", "storage"), "milli"],
      [path("spec", "limits", 0, "default", "cpu"), "milli"],
      [path("spec", "limits", 1, "defaultRequest", "memory"), "milli"],
      [path("spec", "limits", 0, "max", "cpu"), "milli"],
      [path("spec", "limits", 0, "min", "cpu"), "milli"],
      [path("spec", "limits", 0, "maxLimitRequestRatio", "cpu"), "milli"],
      [path("spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"), "milli"],
      [path("spec", "template", "spec", "volumes", 0, "emptyDir", "sizeLimit"), "nano"],
      [path("spec", "metrics", 0, "resource", "target", "averageValue"), "nano"],
      [path("spec", "metrics", 0, "object", "target", "value"), "nano"],
      [path("capacity"), "nano"],
      [path("maximumVolumeSize"), "nano"],
    ] as const)
      assert.equal(quantityPrecisionAt(quantity), precision, JSON.stringify(quantity));
    for (const other of [
      path("spec", "replicas"),
      path("spec", "limits", 0, "type"),
      path("spec", "values", "max", "cpu"),
      path("data", "value"),
      path("spec", "template", "spec", "containers", 0, "resources", "requests"),
    ])
      assert.equal(quantityPrecisionAt(other), undefined, JSON.stringify(other));
  });
});
