import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelSelectorProblem } from "./label-selector.ts";

describe("labelSelectorProblem", () => {
  it("accepts every form the apiserver accepts", () => {
    for (const selector of [
      "team=payments",
      "team==payments",
      "team!=payments",
      "env in (prod,staging)",
      "env notin (dev)",
      "env in (prod, )",
      "helm-drift-exporter/scan",
      "!example.com/skip",
      "tier>1",
      "tier<10",
      "team=",
      " team = payments , env in (prod) , !skip ",
      "app.kubernetes.io/part-of=shop",
    ])
      assert.equal(labelSelectorProblem(selector), undefined, selector);
  });

  it("refuses what the apiserver refuses, saying why", () => {
    const cases: [string, RegExp][] = [
      ["team=pay ments", /expected "," or the end/],
      ["team in prod", /expected "\(" after in/],
      ["env in (prod", /expected "," or "\)"/],
      ["=x", /expected a label key/],
      ["team=payments,", /trailing/],
      ["-bad=x", /not a valid label key/],
      ["Bad_Prefix/x=y", /prefix must be a DNS subdomain/],
      ["team=-x", /not a valid label value/],
      ["tier>high", /whole number/],
      ["tier>", /whole number/],
      ["team~payments", /not a valid label key|expected an operator/],
      [`k=${"a".repeat(64)}`, /not a valid label value/],
    ];
    for (const [selector, why] of cases)
      assert.match(labelSelectorProblem(selector) ?? "accepted", why, selector);
  });
});
