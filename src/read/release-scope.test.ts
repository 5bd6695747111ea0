import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NO_RELEASE_FILTER, releaseGlobsInclude } from "../model/release-filter.ts";
import { releaseScope, WHOLE_SCOPE } from "./release-scope.ts";

const filter = (releases: string[], excludeReleases: string[] = [], namespaceSelector?: string) => ({
  releases,
  excludeReleases,
  ...(namespaceSelector !== undefined && { namespaceSelector }),
});

describe("release globs", () => {
  it("match <name>, or <namespace>/<name> when the glob has a /; exclusion wins", () => {
    const globs = filter(["shop-*", "team-a/*", "?pi"], ["*-canary", "team-a/legacy"]);
    const included = (namespace: string, release: string) => releaseGlobsInclude(globs, namespace, release);
    assert.ok(included("anywhere", "shop-web"));
    assert.ok(!included("anywhere", "shop-web-canary"));
    assert.ok(included("team-a", "billing"));
    assert.ok(!included("team-a", "legacy"));
    assert.ok(included("team-b", "api"));
    assert.ok(!included("team-b", "billing"), "team-a/* names a namespace, not a release");
    assert.ok(!included("team-b", "xapi"), "? is one character");
    assert.ok(!included("shop-web", "other"), "a glob without / never matches the namespace");
  });

  it("take every release in without a glob", () => {
    assert.ok(releaseGlobsInclude(NO_RELEASE_FILTER, "ns", "anything"));
    assert.ok(!releaseGlobsInclude(filter([], ["*"]), "ns", "anything"));
  });
});

describe("releaseScope", () => {
  const listed = [
    { namespace: "shop", release: "web" },
    { namespace: "shop", release: "web-canary" },
    { namespace: "team", release: "api" },
    { namespace: "off", release: "db" },
  ];

  it("is the whole scope without filters: every hook can be judged", () => {
    assert.equal(releaseScope(NO_RELEASE_FILTER, undefined, listed), WHOLE_SCOPE);
  });

  it("takes in the selected namespaces' releases the globs take in", () => {
    const scope = releaseScope(filter([], ["*-canary"], "x=y"), new Set(["shop", "team"]), listed);
    assert.deepEqual(
      listed.filter(({ namespace, release }) => scope.includes(namespace, release)).map((r) => r.release),
      ["web", "api"],
    );
  });

  it("judges hooks only where no release that may own them is out of scope", () => {
    const scope = releaseScope(filter([], ["*-canary"], "x=y"), new Set(["shop", "team"]), listed);
    assert.ok(scope.judgesHooksIn("team"));
    assert.ok(!scope.judgesHooksIn("shop"), "web-canary is stored there, out of scope");
    assert.ok(!scope.judgesHooksIn("off"), "not selected");
    assert.ok(!scope.judgesHooksIn("empty"), "not selected, even with no release");
    assert.ok(!scope.judgesHooksIn(undefined), "a cluster-scoped hook may be any release's");
    const globsOnly = releaseScope(filter(["web"]), undefined, listed);
    assert.ok(globsOnly.judgesHooksIn("empty"), "no selector: a namespace without releases is in scope");
    assert.ok(!globsOnly.judgesHooksIn("team"));
  });
});
