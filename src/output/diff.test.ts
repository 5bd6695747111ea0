import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderValueChange } from "./diff.ts";

const prometheusYml = (interval: string) =>
  [
    "global:",
    `  scrape_interval: ${interval}`,
    "  evaluation_interval: 30s",
    "scrape_configs:",
    ...Array.from({ length: 200 }, (_, index) =>
      [
        `  - job_name: job-${String(index)}`,
        "    static_configs:",
        `      - targets: ["host-${String(index)}:9100"]`,
      ].join("\n"),
    ),
  ].join("\n") + "\n";

describe("renderValueChange", () => {
  it("shows a changed multi-line string as a line diff with context, not one escaped line", () => {
    const declared = prometheusYml("30s");
    assert.ok(declared.length > 7000, "a 7 KB file");
    const lines = renderValueChange({ declared, live: prometheusYml("15s"), sensitive: false });
    assert.deepEqual(lines, [
      "@@ -1,5 +1,5 @@",
      "  global:",
      "-   scrape_interval: 30s",
      "+   scrape_interval: 15s",
      "    evaluation_interval: 30s",
      "  scrape_configs:",
      "    - job_name: job-0",
    ]);
  });

  it("shows each changed region of a long text as its own hunk", () => {
    const declared = Array.from({ length: 40 }, (_, index) => `line ${String(index)}`).join("\n");
    const live = declared.replace("line 2\n", "line two\n").replace("line 30\n", "line thirty\n");
    const lines = renderValueChange({ declared, live, sensitive: false }, { context: 1 });
    assert.deepEqual(
      lines.filter((line) => line.startsWith("@@")),
      ["@@ -2,3 +2,3 @@", "@@ -30,3 +30,3 @@"],
    );
    assert.ok(lines.includes("- line 30") && lines.includes("+ line thirty"));
  });

  it("shows reordered list items as moves, not the whole list removed and added", () => {
    const declared = [{ key: "a" }, { key: "b" }, { key: "c" }];
    const lines = renderValueChange({
      declared,
      live: [{ key: "c" }, { key: "a" }, { key: "b" }],
      sensitive: false,
    });
    assert.deepEqual(lines, ["~ - key: c  # moved from [2] to [0]", "  - key: a", "  - key: b"]);
  });

  it("matches list items by value, whatever the order of their keys", () => {
    const lines = renderValueChange({
      declared: [{ operator: "Exists", key: "a" }, "x"],
      live: [{ key: "a", operator: "Exists" }, "x", { key: "b", effect: "NoSchedule" }],
      sensitive: false,
    });
    assert.deepEqual(lines, [
      "  - key: a", // shown as it is live
      "    operator: Exists",
      "  - x",
      "+ - key: b",
      "+   effect: NoSchedule",
    ]);
  });

  it("shows removed and added items, and collapses unchanged items far from any change", () => {
    const declared = Array.from({ length: 12 }, (_, index) => `arg-${String(index)}`);
    const live = [...declared.slice(0, 10), "arg-new", ...declared.slice(11)];
    assert.deepEqual(renderValueChange({ declared, live, sensitive: false }, { context: 1 }), [
      "  ... 9 unchanged items",
      "  - arg-9",
      "- - arg-10",
      "+ - arg-new",
      "  - arg-11",
    ]);
  });

  it("shows scalars as JSON, so a number and a string look different", () => {
    assert.deepEqual(renderValueChange({ declared: 3, live: "3", sensitive: false }), ["- 3", '+ "3"']);
    assert.deepEqual(renderValueChange({ declared: undefined, live: { cpu: "200m" }, sensitive: false }), [
      "+ cpu: 200m",
    ]);
    assert.deepEqual(renderValueChange({ declared: "a", live: undefined, sensitive: false }), ['- "a"']);
  });

  it("never renders a sensitive value, whatever it is given", () => {
    const lines = renderValueChange({ declared: "s3cr3t\nline", live: ["hunter2"], sensitive: true });
    assert.deepEqual(lines, ["- (redacted)", "+ (redacted)"]);
  });

  it("escapes control characters in values, so a value cannot drive the terminal", () => {
    const lines = renderValueChange({ declared: "a\nb", live: "a\nb\u001b[2J\u202e", sensitive: false });
    assert.deepEqual(lines, ["@@ -1,2 +1,2 @@", "  a", "- b", "+ b\\x1b[2J\\u202e"]);
  });

  it("colours lines only when asked", () => {
    const change = { declared: ["a", "b"], live: ["b", "a", "c"], sensitive: false };
    assert.ok(renderValueChange(change).every((line) => !line.includes("\u001b")));
    assert.deepEqual(renderValueChange(change, { colour: true }), [
      "  - b",
      "\u001b[33m~ - a  # moved from [0] to [1]\u001b[0m",
      "\u001b[32m+ - c\u001b[0m",
    ]);
  });
});
