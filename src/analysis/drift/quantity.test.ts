import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseQuantity, quantitiesEqual } from "./quantity.ts";

const same = (a: unknown, b: unknown) => {
  const [qa, qb] = [parseQuantity(a), parseQuantity(b)];
  assert.ok(qa && qb, `${String(a)} and ${String(b)} parse`);
  return quantitiesEqual(qa, qb);
};

describe("quantities", () => {
  it("equal what the apiserver re-serializes", () => {
    for (const [declared, live] of [
      [0.5, "500m"],
      ["0.5", "500m"],
      [1.5, "1500m"],
      [1000, "1k"],
      ["1000M", "1G"],
      ["1024Mi", "1Gi"],
      ["1.5Gi", "1536Mi"],
      ["5000m", "5"],
      [2, "2"],
      ["1e3", "1k"],
      ["100Mi", "104857600"],
      [".5", "500m"],
      ["0.1", "100m"],
    ] as const) {
      assert.ok(same(declared, live), `${String(declared)} = ${live}`);
    }
  });

  it("tell different values apart", () => {
    assert.equal(same("500m", "501m"), false);
    assert.equal(same("1Gi", "1G"), false);
    assert.equal(same(1, "1m"), false);
    assert.equal(same("256Mi", "512Mi"), false);
  });

  it("reject what is not a quantity", () => {
    for (const value of ["", "abc", "1.2.3", "1Gb", "Gi", null, {}, [], "1 Gi"])
      assert.equal(parseQuantity(value), undefined, JSON.stringify(value));
  });
});
