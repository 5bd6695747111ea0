import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelSelectorProblem, matchesLabelSelector, parseLabelSelector } from "./label-selector.ts";

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

describe("matchesLabelSelector", () => {
  const labels = { team: "payments", env: "prod", tier: "3", "example.com/skip": "" };
  const matches = (selector: string) => {
    const requirements = parseLabelSelector(selector);
    if (typeof requirements === "string") assert.fail(`${selector}: ${requirements}`);
    return matchesLabelSelector(requirements, labels);
  };

  it("matches as the apiserver does, every operator", () => {
    const cases: [string, boolean][] = [
      ["team=payments", true],
      ["team==payments", true],
      ["team=search", false],
      ["team!=search", true],
      ["owner!=x", true], // a missing label differs from any value
      ["env in (prod,staging)", true],
      ["env in (dev)", false],
      ["owner in (x)", false],
      ["env notin (dev)", true],
      ["owner notin (x)", true],
      ["team", true],
      ["owner", false],
      ["!owner", true],
      ["!team", false],
      ["example.com/skip", true],
      ["example.com/skip=", true],
      ["tier>2", true],
      ["tier>3", false],
      ["tier<4", true],
      ["team>1", false], // not a number: matches neither way
      ["owner<1", false],
      ["team=payments,env=prod", true],
      ["team=payments,env=dev", false],
      ["", true],
    ];
    for (const [selector, expected] of cases) assert.equal(matches(selector), expected, selector);
  });
});
