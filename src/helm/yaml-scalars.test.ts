import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { load } from "js-yaml";
import { KUBERNETES_YAML_SCHEMA } from "./yaml-scalars.ts";

const read = (text: string): unknown =>
  (load(`v: ${text}`, { schema: KUBERNETES_YAML_SCHEMA }) as { v: unknown }).v;

describe("KUBERNETES_YAML_SCHEMA reads plain scalars as go-yaml v2 does", () => {
  // Expected values from go-yaml v2's resolve.go, decoding into interface{}.
  const cases: [string, unknown][] = [
    ["", null],
    ["~", null],
    ["Null", null],
    ["yes", true],
    ["Y", true],
    ["ON", true],
    ["no", false],
    ["off", false],
    ["False", false],
    ["yES", "yES"],
    ["0755", 493],
    ["0o17", 15],
    ["0x1F", 31],
    ["-0b101", -5],
    ["+12", 12],
    ["1_000", 1000],
    ["08", 8],
    ["1e3", 1000],
    ["1.", 1],
    [".5", 0.5],
    ["-1.5e-2", -0.015],
    ["12:30", "12:30"],
    ["2001-12-14", "2001-12-14"],
    ["2001-12-14T21:59:43Z", "2001-12-14T21:59:43Z"],
    ["1.5.6", "1.5.6"],
    ["0x", "0x"],
    ["'0755'", "0755"],
    ['"yes"', "yes"],
    ["!!str 12", "12"],
    ["!!float 0755", 493],
    [".inf", Number.POSITIVE_INFINITY],
    ["-.Inf", Number.NEGATIVE_INFINITY],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${String(expected)}`, () => {
      assert.deepEqual(read(text), expected);
    });
  }

  it("reads .nan as NaN", () => {
    assert.ok(Number.isNaN(read(".nan")));
  });

  it("resolves keys too: a `yes:` key is the string true, as Kubernetes sees it", () => {
    assert.deepEqual(load("yes: 1\n8: x", { schema: KUBERNETES_YAML_SCHEMA }), { true: 1, 8: "x" });
  });

  it("merges `<<` keys", () => {
    assert.deepEqual(
      load("base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3", { schema: KUBERNETES_YAML_SCHEMA }),
      { base: { a: 1, b: 2 }, use: { a: 1, b: 3 } },
    );
  });

  it("refuses tags go-yaml would not turn into JSON text", () => {
    assert.throws(() => read("!!binary aGk="), /unknown tag/);
    assert.throws(() => read("!!int 1.5"), /cannot resolve/);
  });
});
