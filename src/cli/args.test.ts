/** The command line of diagnose: what it accepts, and the usage errors a person gets instead of a scan. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandLine, UsageError } from "./args.ts";

function usageError(argv: readonly string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    assert.ok(error instanceof UsageError, `a usage error, not ${String(error)}`);
    return error.message;
  }
  assert.fail(`no usage error for ${argv.join(" ")}`);
}

describe("diagnose's arguments", () => {
  it("takes a release, its namespace by -n or --namespace, and a revision", () => {
    const parsed = parseCommandLine(["diagnose", "shop", "-n", "prod", "--revision", "3", "-o", "json"]);
    assert.equal(parsed.command, "diagnose");
    assert.deepEqual(parsed.diagnose, { release: "shop", revision: 3 });
    assert.equal(parsed.flags.namespaces, "prod", "it scans its release's namespace only");
    assert.equal(parsed.flags.output, "json");
    assert.deepEqual(parseCommandLine(["diagnose", "shop", "--namespace", "prod"]).diagnose, {
      release: "shop",
    });
  });

  it("needs the release's one namespace", () => {
    assert.match(usageError(["diagnose", "shop"]), /needs the release's one namespace: -n <namespace>/);
    assert.match(usageError(["diagnose", "shop", "-n", ""]), /needs the release's one namespace/);
    assert.match(usageError(["diagnose", "shop", "-n", "a,b"]), /needs the release's one namespace/);
    assert.match(
      usageError(["diagnose", "shop", "-n", "a", "--namespace", "b"]),
      /give the release's namespace once/,
    );
  });

  it("takes revisions from 1, as helm numbers them", () => {
    for (const revision of ["0", "-1", "1.5", "two", "01", "99999999999999999999"])
      assert.match(
        usageError(["diagnose", "shop", "-n", "prod", `--revision=${revision}`]),
        /--revision takes a revision number/,
        revision,
      );
  });

  it("refuses what cannot be a Helm release name, and a missing one", () => {
    assert.match(usageError(["diagnose", "-n", "prod"]), /diagnose needs a release/);
    for (const name of ["Shop", "shop_1", "shop.-web", "shop-", "a".repeat(54), "shop/web"])
      assert.match(usageError(["diagnose", name, "-n", "prod"]), /is not a Helm release name/, name);
    assert.match(usageError(["diagnose", "shop", "web", "-n", "prod"]), /unexpected arguments: web/);
  });

  it("keeps diagnose's flags off the other commands", () => {
    assert.match(usageError(["scan", "--revision", "2"]), /flags of diagnose/);
    assert.match(usageError(["scan", "--namespace", "prod"]), /flags of diagnose/);
    assert.equal(
      parseCommandLine(["scan", "-n", "a,b"]).flags.namespaces,
      "a,b",
      "-n is scan's --namespaces",
    );
  });
});
