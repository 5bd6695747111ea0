/**
 * Drift analysis on objects recorded from the real control plane
 * (test/fixtures/drift/record.ts): a helm v4 install left untouched, and a helm v3
 * install changed with kubectl scale, set image, patch (env, resources, an added
 * container, a Secret value), label (a declared label, Helm's managed-by label
 * removed), edit (a ConfigMap) and a custom resource patch.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compareObject, REDACTED } from "./compare.ts";
import { analyzeDrift, DEFAULT_DRIFT_OPTIONS, NOT_SHOWN, type DriftInput, type LiveLookup } from "./drift.ts";
import { scaleTargetKey } from "../../model/refs.ts";
import { OutcomeMemo } from "./outcome-memo.ts";
import { managedFieldsOf, ownersOf } from "./managed-fields.ts";
import { formatPath, pointerMatches } from "./path.ts";

type Body = Record<string, unknown>;
const recorded = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/drift/recorded-objects.json", import.meta.url), "utf8"),
) as Record<string, { declared: Body; live: Body }>;

function fixture(key: string): { declared: Body; live: Body } {
  const entry = recorded[key];
  assert.ok(entry, `fixture ${key}`);
  return entry;
}

function driftOf(key: string, overrides: Partial<DriftInput> = {}) {
  const { declared, live } = fixture(key);
  const [namespace = "", kind = "", name = ""] = key.split("/");
  const lookup = (): LiveLookup => ({ state: "found", object: live });
  return analyzeDrift({
    release: namespace.startsWith("rw") ? "shop" : "s",
    namespace,
    baseRevision: 1,
    baseIsDeployed: true,
    objects: [{ apiVersion: String(declared.apiVersion), kind, name, body: declared }],
    namespaced: () => true,
    lookup,
    hpaTargets: new Set(),
    options: DEFAULT_DRIFT_OPTIONS,
    ...overrides,
  });
}

describe("no false drift on a fresh helm v4 (server-side apply) install", () => {
  for (const key of [
    "rw4/Deployment/shop-web",
    "rw4/Service/shop-web",
    "rw4/StatefulSet/shop-db",
    "rw4/NetworkPolicy/shop",
  ]) {
    it(key, () => {
      const { declared, live } = fixture(key);
      assert.deepEqual(compareObject(declared, live, { kind: key.split("/")[1] ?? "" }), []);
      assert.deepEqual(driftOf(key).resources, []);
    });
  }
});

describe("real changes, with the manager that made them", () => {
  it("finds every change to the Deployment and names kubectl-set, kubectl-patch and kubectl-label", () => {
    const [resource] = driftOf("rw3/Deployment/shop-web").resources;
    assert.ok(resource);
    const fields = Object.fromEntries(
      resource.fields.map((field) => [field.path, { change: field.change, managers: field.managers }]),
    );
    assert.deepEqual(fields, {
      'metadata.labels["app.kubernetes.io/version"]': { change: "changed", managers: ["kubectl-label"] },
      "spec.replicas": { change: "changed", managers: ["kubectl"] },
      "spec.template.spec.containers[name=web].image": { change: "changed", managers: ["kubectl-set"] },
      "spec.template.spec.containers[name=web].env[name=GREETING].value": {
        change: "changed",
        managers: ["kubectl-patch"],
      },
      "spec.template.spec.containers[name=web].resources.limits.memory": {
        change: "changed",
        managers: ["kubectl-patch"],
      },
      "spec.template.spec.containers[name=sidecar]": { change: "added", managers: ["kubectl-patch"] },
    });
    assert.ok(resource.since, "dated from managedFields");
  });

  it("ignores spec.replicas of a workload an HPA scales, and counts it", () => {
    const report = driftOf("rw3/Deployment/shop-web", {
      hpaTargets: new Set([scaleTargetKey("apps", "Deployment", "rw3", "shop-web")]),
    });
    assert.equal(report.ignored.hpa, 1);
    assert.ok(!report.resources[0]?.fields.some((field) => field.path === "spec.replicas"));
  });

  it("attributes a scale to kubectl's scale subresource", () => {
    const [resource] = driftOf("rw3/StatefulSet/shop-db").resources;
    assert.deepEqual(
      resource?.fields.map((field) => [field.path, field.declared, field.live, field.managers]),
      [["spec.replicas", 1, 3, ["kubectl"]]],
    );
    assert.deepEqual(resource.managers, [{ manager: "kubectl", operation: "Update", subresource: "scale" }]);
    assert.equal(resource.since, undefined, "the scale subresource's managedFields entry has no time");
  });

  it("reports a changed Secret value without its value", () => {
    const report = driftOf("rw3/Secret/shop-secret");
    assert.deepEqual(
      report.resources[0]?.fields.map((field) => [field.path, field.declared, field.live, field.managers]),
      [["data.password", REDACTED, REDACTED, ["kubectl-patch"]]],
    );
    const text = JSON.stringify(report);
    assert.doesNotMatch(
      text,
      /s3cr3t|czNjcjN0|Y2hhbmdlZA/,
      "neither the declared nor the live value, plain or base64",
    );
  });

  describe("never shows a Secret's data, whatever shape the manifest gives it", () => {
    const marker = "hunter2-live";
    const lastApplied = JSON.stringify({ apiVersion: "v1", kind: "Secret", data: { pw: marker } });
    const liveSecret: Body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "s",
        labels: { tier: "db" },
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied, note: "kept" },
      },
      type: "Opaque",
      data: { pw: Buffer.from(marker).toString("base64") },
    };
    const cases: [string, Body, string][] = [
      ["data as a string", { data: "x" }, "data"],
      ["data as a list", { data: ["x"] }, "data"],
      ["stringData as a string", { stringData: "x" }, ""],
      ["annotations as a string", { metadata: { annotations: "x" } }, "metadata.annotations"],
      ["metadata as a string", { metadata: "x" }, "metadata"],
      [
        "the last-applied annotation declared",
        { metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } } },
        "",
      ],
      ["a made-up field", { secrets: { pw: "x" } }, "secrets"],
    ];
    for (const [name, declared, path] of cases) {
      it(name, () => {
        for (const kind of ["Secret", "ConfigMap"]) {
          // The live object's kind decides too: a manifest that names another kind gets no pass.
          const report = analyzeDrift({
            release: "r",
            namespace: "ns",
            baseRevision: 1,
            baseIsDeployed: true,
            objects: [{ apiVersion: "v1", kind, name: "s", body: { apiVersion: "v1", kind, ...declared } }],
            namespaced: () => true,
            lookup: () => ({ state: "found", object: liveSecret }),
            hpaTargets: new Set(),
            options: DEFAULT_DRIFT_OPTIONS,
          });
          const text = JSON.stringify(report);
          assert.doesNotMatch(text, /hunter2|aHVudGVyMi1saXZl/, `${kind}: no live value, plain or base64`);
          const fields = report.resources[0]?.fields ?? [];
          if (path !== "")
            assert.ok(
              fields.some((field) => field.path === path && field.sensitive),
              text,
            );
          const singleLabelOrAnnotation = /^metadata\.(labels|annotations)[.[]/;
          for (const field of fields.filter((f) => !singleLabelOrAnnotation.test(f.path)))
            assert.ok(
              field.declared === REDACTED && [undefined, REDACTED].includes(field.live as string),
              text,
            );
        }
      });
    }

    it("shows labels, plain annotations and the type, which hold no data", () => {
      const diffs = compareObject(
        { metadata: { labels: { tier: "web" }, annotations: { note: "new" } }, type: "kubernetes.io/tls" },
        liveSecret,
        { kind: "Secret" },
      );
      assert.deepEqual(
        diffs.map((diff) => [formatPath(diff.path), diff.declared, diff.live, diff.sensitive]),
        [
          ["metadata.labels.tier", "web", "db", false],
          ["metadata.annotations.note", "new", "kept", false],
          ["type", "kubernetes.io/tls", "Opaque", false],
        ],
      );
    });
  });

  it("shows no values of an object Helm's annotations tie to another release, only which fields differ", () => {
    const live: Body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "team-b-config",
        annotations: { "meta.helm.sh/release-name": "b", "meta.helm.sh/release-namespace": "team-b" },
        labels: { "app.kubernetes.io/managed-by": "Helm" },
      },
      data: { password: "team-b-secret" },
    };
    const report = analyzeDrift({
      release: "a",
      namespace: "team-a",
      baseRevision: 1,
      baseIsDeployed: true,
      objects: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          name: "team-b-config",
          namespace: "team-b",
          body: { data: "x" },
        },
      ],
      namespaced: () => true,
      lookup: () => ({ state: "found", object: live }),
      hpaTargets: new Set(),
      options: DEFAULT_DRIFT_OPTIONS,
    });
    assert.doesNotMatch(JSON.stringify(report), /team-b-secret/);
    assert.deepEqual(
      report.resources[0]?.fields.map((field) => [field.path, field.declared, field.live]),
      [
        ["data", NOT_SHOWN, NOT_SHOWN],
        ['metadata.annotations["meta.helm.sh/release-name"]', "a", "b"],
        ['metadata.annotations["meta.helm.sh/release-namespace"]', "team-a", "team-b"],
      ],
    );
  });

  it("reports Helm's removed ownership label, which breaks the next upgrade", () => {
    const [resource] = driftOf("rw3/PodDisruptionBudget/shop-web").resources;
    assert.deepEqual(
      resource?.fields.map((field) => [field.path, field.change]),
      [['metadata.labels["app.kubernetes.io/managed-by"]', "removed"]],
    );
    assert.deepEqual(
      resource.managers.map((m) => m.manager),
      ["unknown"],
    );
  });
});

describe("hand-made additions to fields the manifest does not declare", () => {
  const added = (report: ReturnType<typeof driftOf>) =>
    Object.fromEntries(
      report.resources.flatMap((resource) =>
        resource.fields.map((field) => [field.path, [field.change, field.live, field.managers]]),
      ),
    );

  for (const helm of ["hand3", "hand4"]) {
    it(`${helm === "hand3" ? "helm v3" : "helm v4"}: set env, set resources, a toleration and an edit, by their kubectl managers`, () => {
      const report = driftOf(`${helm}/Deployment/s-web`);
      assert.deepEqual(added(report), {
        "spec.template.spec.containers[name=web].env": [
          "added",
          [{ name: "FOO", value: "bar" }],
          ["kubectl-set"],
        ],
        "spec.template.spec.containers[name=web].resources": [
          "added",
          { limits: { cpu: "200m", memory: "64Mi" } },
          ["kubectl-set"],
        ],
        "spec.template.spec.tolerations": [
          "added",
          [{ key: "dedicated", operator: "Equal", value: "ops", effect: "NoSchedule" }],
          ["kubectl-patch"],
        ],
        "spec.template.spec.terminationGracePeriodSeconds": ["added", 60, ["kubectl-edit"]],
      });
      const [resource] = report.resources;
      assert.equal(resource?.state, "added", "nothing declared differs");
      assert.deepEqual(
        resource.managers.map((m) => m.manager).sort(),
        ["kubectl-edit", "kubectl-patch", "kubectl-set"],
        "labels, annotations and a rollout restart are bookkeeping, not configuration",
      );
      assert.ok(resource.since, "dated from managedFields");
    });
  }

  it("finds data keys added by kubectl patch and by kubectl apply --server-side", () => {
    assert.deepEqual(added(driftOf("hand3/ConfigMap/s-config")), {
      "data.extra": ["added", "by hand", ["kubectl-patch"]],
    });
    assert.deepEqual(added(driftOf("hand4/ConfigMap/s-config")), {
      "data.applied": ["added", "by kubectl", ["kubectl"]],
      "data.extra": ["added", "by hand", ["kubectl-patch"]],
    });
  });

  it("leaves undeclared fields of other managers alone, and can be turned off", () => {
    const off = driftOf("hand3/Deployment/s-web", {
      options: { ...DEFAULT_DRIFT_OPTIONS, humanManagers: [] },
    });
    assert.deepEqual(off.resources, []);
    const onlyEdits = driftOf("hand3/Deployment/s-web", {
      options: { ...DEFAULT_DRIFT_OPTIONS, humanManagers: ["kubectl-e*"] },
    });
    assert.deepEqual(Object.keys(added(onlyEdits)), ["spec.template.spec.terminationGracePeriodSeconds"]);
  });

  it("ignores them like any drift: by manager, rule or annotation, counted", () => {
    const report = driftOf("hand3/Deployment/s-web", {
      options: {
        ...DEFAULT_DRIFT_OPTIONS,
        ignoreManagers: ["kubectl-set"],
        rules: [{ paths: ["/spec/template/spec/tolerations"] }],
      },
    });
    assert.deepEqual(Object.keys(added(report)), ["spec.template.spec.terminationGracePeriodSeconds"]);
    assert.deepEqual(report.ignored, { annotation: 0, hpa: 0, manager: 2, rule: 1 });
  });

  it("never shows the value of a Secret key added by hand", () => {
    const { declared, live } = fixture("rw3/Secret/shop-secret");
    const metadata = live.metadata as Body;
    const withAddedKey = {
      ...live,
      data: { ...(live.data as Body), token: "aHVudGVyMg==" },
      metadata: {
        ...metadata,
        managedFields: [
          ...(metadata.managedFields as unknown[]),
          { manager: "kubectl-edit", operation: "Update", fieldsV1: { "f:data": { "f:token": {} } } },
        ],
      },
    };
    const report = analyzeDrift({
      release: "shop",
      namespace: "rw3",
      baseRevision: 1,
      baseIsDeployed: true,
      objects: [{ apiVersion: "v1", kind: "Secret", name: "shop-secret", body: declared }],
      namespaced: () => true,
      lookup: () => ({ state: "found", object: withAddedKey }),
      hpaTargets: new Set(),
      options: DEFAULT_DRIFT_OPTIONS,
    });
    const token = report.resources[0]?.fields.find((field) => field.path === "data.token");
    assert.deepEqual(token && [token.change, token.live, token.sensitive], ["added", REDACTED, true]);
    assert.doesNotMatch(JSON.stringify(report), /aHVudGVyMg|hunter2/);
  });
});

describe("scaled to zero through the scale subresource", () => {
  it("attributes what the apiserver left: a scale, by someone it no longer names", () => {
    // At zero replicas the scale subresource's managedFields entry is dropped (autoscaling/v1
    // Scale's replicas is omitempty), and later scales are not tracked (no owner left to track).
    const [resource] = driftOf("zero3/Deployment/s-web").resources;
    assert.deepEqual(
      resource?.fields.map((field) => [field.path, field.declared, field.live, field.managers]),
      [["spec.replicas", 3, 2, []]],
    );
    assert.deepEqual(resource.managers, [{ manager: "unknown", operation: "Update", subresource: "scale" }]);
  });
});

describe("memo across scans", () => {
  const key = "rw3/Deployment/shop-web";
  const counted = (live: Body, version: string) => {
    let reads = 0;
    const lookup = (): LiveLookup => ({
      state: "found",
      version,
      get object() {
        reads++;
        return live;
      },
    });
    return { lookup, reads: () => reads };
  };

  it("reuses an object's outcome while its revision, live version and HPA scaling stay the same", () => {
    const memo = new OutcomeMemo();
    const { live } = fixture(key);
    const first = counted(live, "uid/1");
    const fresh = driftOf(key, { lookup: first.lookup, memo, revisionVersion: "rev/1" });
    assert.equal(first.reads(), 1);
    assert.deepEqual(fresh, driftOf(key), "the memo changes nothing");

    const again = counted(live, "uid/1");
    assert.deepEqual(driftOf(key, { lookup: again.lookup, memo, revisionVersion: "rev/1" }), fresh);
    assert.equal(again.reads(), 0, "an unchanged object is not read again");

    for (const [what, overrides] of [
      ["live object changed", { version: "uid/2", revisionVersion: "rev/1", hpa: false }],
      ["new revision", { version: "uid/1", revisionVersion: "rev/2", hpa: false }],
      ["HPA now scales it", { version: "uid/1", revisionVersion: "rev/1", hpa: true }],
    ] as const) {
      const changed = counted(live, overrides.version);
      const report = driftOf(key, {
        lookup: changed.lookup,
        memo,
        revisionVersion: overrides.revisionVersion,
        hpaTargets: new Set(overrides.hpa ? [scaleTargetKey("apps", "Deployment", "rw3", "shop-web")] : []),
      });
      assert.equal(changed.reads(), 1, what);
      if (overrides.hpa) assert.equal(report.ignored.hpa, 1, what);
    }
  });

  it("answers a found object whose copy was dropped from the memo, and says so when it cannot", () => {
    const memo = new OutcomeMemo();
    const { live } = fixture(key);
    const compared = driftOf(key, { lookup: counted(live, "uid/1").lookup, memo, revisionVersion: "rev/1" });
    const known = (): LiveLookup => ({ state: "known", version: "uid/1" });
    assert.deepEqual(driftOf(key, { lookup: known, memo, revisionVersion: "rev/1" }), compared);
    const unknown = driftOf(key, { lookup: known, memo, revisionVersion: "rev/2" });
    assert.deepEqual(
      unknown.resources.map((resource) => [resource.state, resource.uncheckedReason]),
      [["unchecked", "error"]],
      "never in sync: its outcome at this revision is not known",
    );
  });
});

describe("managedFields path matching", () => {
  it("finds owners by field, keyed item (with defaulted key fields) and atomic leaf", () => {
    const { live } = fixture("rw4/Deployment/shop-web");
    const entries = managedFieldsOf(live);
    const owners = (path: Parameters<typeof ownersOf>[1]) =>
      ownersOf(entries, path).map((entry) => entry.manager);
    assert.deepEqual(owners([{ field: "spec" }, { field: "replicas" }]), ["helm"]);
    const container = [
      { field: "spec" },
      { field: "template" },
      { field: "spec" },
      { field: "containers" },
      { key: { name: "web" } },
    ];
    assert.deepEqual(
      owners([...container, { field: "ports" }, { key: { containerPort: 8080, protocol: "TCP" } }]),
      ["helm"],
    );
    assert.deepEqual(
      owners([...container, { field: "ports" }, { key: { containerPort: 8080 } }]),
      ["helm"],
      "key subset",
    );
    assert.deepEqual(owners([...container, { field: "command" }]), [], "not set by anyone");
    assert.deepEqual(
      owners([
        ...container,
        { field: "securityContext" },
        { field: "capabilities" },
        { field: "drop" },
        { index: 0 },
      ]),
      ["helm"],
      "atomic list owned as a leaf",
    );
  });
});

describe("comparison rules", () => {
  const compare = (declared: Body, live: Body, kind = "ConfigMap") =>
    compareObject(declared, live, { kind }).map((d) => [formatPath(d.path), d.change]);

  it("treats empty, zero and null declared values as absent", () => {
    assert.deepEqual(
      compare({ spec: { a: "", b: {}, c: [], d: null, e: false, f: 0, g: { h: {} } } }, { spec: {} }),
      [],
    );
  });

  it("compares quantities by value only where they are quantities", () => {
    assert.deepEqual(
      compare(
        { spec: { resources: { limits: { cpu: 0.5, memory: "1024Mi" } } } },
        { spec: { resources: { limits: { cpu: "500m", memory: "1Gi" } } } },
      ),
      [],
    );
    assert.deepEqual(compare({ data: { size: "1024Mi" } }, { data: { size: "1Gi" } }), [
      ["data.size", "changed"],
    ]);
  });

  it("compares YAML decimals as the apiserver stores them, in every quantity field", () => {
    // `cpu: 0.1` unquoted is the float 0.1; the apiserver parses Go's JSON for it ("0.1").
    const container = {
      name: "web",
      resources: { requests: { cpu: 0.1, memory: 0.3 }, limits: { cpu: 1.1 } },
    };
    assert.deepEqual(
      compare(
        { spec: { template: { spec: { containers: [container], overhead: { cpu: 0.05 } } } } },
        {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    ...container,
                    resources: { requests: { cpu: "100m", memory: "300m" }, limits: { cpu: "1100m" } },
                  },
                ],
                overhead: { cpu: "50m" },
              },
            },
          },
        },
        "Deployment",
      ),
      [],
    );
    assert.deepEqual(
      compare(
        { spec: { limits: [{ type: "Container", max: { cpu: 0.2 }, defaultRequest: { cpu: 0.001 } }] } },
        { spec: { limits: [{ type: "Container", max: { cpu: "200m" }, defaultRequest: { cpu: "1m" } }] } },
        "LimitRange",
      ),
      [],
    );
    assert.deepEqual(
      compare(
        {
          spec: {
            metrics: [{ type: "Pods", pods: { target: { type: "AverageValue", averageValue: 0.3 } } }],
          },
        },
        {
          spec: {
            metrics: [{ type: "Pods", pods: { target: { type: "AverageValue", averageValue: "300m" } } }],
          },
        },
        "HorizontalPodAutoscaler",
      ),
      [],
    );
    assert.deepEqual(
      compare({ spec: { hard: { "requests.cpu": 0.3 } } }, { spec: { hard: { "requests.cpu": "301m" } } }),
      [['spec.hard["requests.cpu"]', "changed"]],
    );
  });

  it("accepts int or string where Kubernetes does", () => {
    assert.deepEqual(
      compare({ spec: { port: 8080, flag: true } }, { spec: { port: "8080", flag: "true" } }),
      [],
    );
    assert.deepEqual(compare({ spec: { port: 8080 } }, { spec: { port: "8081" } }), [
      ["spec.port", "changed"],
    ]);
  });

  it("matches ports by port and defaulted protocol, and reports added and removed items", () => {
    const declared = { spec: { ports: [{ port: 80 }, { port: 53, protocol: "UDP" }] } };
    assert.deepEqual(
      compare(
        declared,
        {
          spec: {
            ports: [
              { port: 53, protocol: "UDP" },
              { port: 80, protocol: "TCP", targetPort: 80 },
            ],
          },
        },
        "Service",
      ),
      [],
    );
    assert.deepEqual(
      compare(
        declared,
        {
          spec: {
            ports: [
              { port: 80, protocol: "TCP" },
              { port: 443, protocol: "TCP" },
            ],
          },
        },
        "Service",
      ),
      [
        ["spec.ports[port=53,protocol=UDP]", "removed"],
        ["spec.ports[port=443,protocol=TCP]", "added"],
      ],
    );
  });

  it("compares atomic lists whole, tolerating defaults inside their items", () => {
    assert.deepEqual(compare({ spec: { args: ["a", "b"] } }, { spec: { args: ["a", "b"] } }), []);
    assert.deepEqual(compare({ spec: { args: ["a", "b"] } }, { spec: { args: ["b", "a"] } }), [
      ["spec.args", "changed"],
    ]);
    assert.deepEqual(
      compare(
        { spec: { ingress: [{ ports: [{ port: 80 }] }] } },
        { spec: { ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }] } },
        "NetworkPolicy",
      ),
      [],
    );
    assert.deepEqual(
      compare(
        { spec: { tolerations: [{ key: "a" }] } },
        { spec: { tolerations: [{ key: "a" }, { key: "b" }] } },
      ),
      [["spec.tolerations", "changed"]],
    );
  });

  it("compares Secret stringData with base64 data, by value", () => {
    const declared = { data: { a: "YQ==" }, stringData: { b: "b", a: "A" } };
    assert.deepEqual(compare(declared, { data: { a: "QQ==", b: "Yg==" } }, "Secret"), []);
    assert.deepEqual(compare(declared, { data: { a: "YQ==", b: "Yg==" } }, "Secret"), [
      ["data.a", "changed"],
    ]);
  });

  it("leaves the rules of an aggregated ClusterRole to the aggregation controller", () => {
    const aggregationRule = { clusterRoleSelectors: [{ matchLabels: { "example.com/aggregate": "true" } }] };
    const filled = { aggregationRule, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] };
    assert.deepEqual(compare({ aggregationRule, rules: [] }, filled, "ClusterRole"), []);
    assert.deepEqual(compare({ rules: [] }, filled, "ClusterRole"), [["rules", "changed"]]);
  });

  it("ignores metadata noise and Helm's own annotations in the manifest", () => {
    assert.deepEqual(
      compare(
        {
          metadata: {
            name: "x",
            namespace: "y",
            annotations: { "meta.helm.sh/release-name": "other", "deployment.kubernetes.io/revision": "1" },
            labels: { "app.kubernetes.io/managed-by": "Helm" },
          },
        },
        { metadata: { name: "x", annotations: {} } },
      ),
      [],
    );
  });
});

describe("ignores", () => {
  const base = "rw3/Deployment/shop-web";
  const fields = (report: ReturnType<typeof driftOf>) =>
    report.resources[0]?.fields.map((field) => field.path) ?? [];

  it("rules by path and by manager, matched by release, namespace, kind and name globs", () => {
    const report = driftOf(base, {
      options: {
        ...DEFAULT_DRIFT_OPTIONS,
        rules: [
          {
            release: "sh*",
            kind: "apps/Deployment",
            paths: ["/spec/replicas", "/spec/template/spec/containers/name=web/image"],
          },
          { namespace: "rw?", name: "shop-*", managers: ["kubectl-patch"] },
          { kind: "StatefulSet", paths: ["/metadata"] },
        ],
      },
    });
    assert.deepEqual(fields(report), ['metadata.labels["app.kubernetes.io/version"]']);
    assert.equal(report.ignored.rule, 5);
  });

  it("a rule without paths or managers ignores the whole object", () => {
    const report = driftOf(base, { options: { ...DEFAULT_DRIFT_OPTIONS, rules: [{ kind: "Deployment" }] } });
    assert.deepEqual(report.resources, []);
    assert.equal(report.ignored.rule, 6);
  });

  it("a whole-object rule also silences an object that is missing or could not be read", () => {
    for (const live of [
      { state: "missing" },
      { state: "unchecked", reason: "out_of_scope", message: "outside" },
    ] satisfies LiveLookup[]) {
      const report = driftOf(base, {
        lookup: () => live,
        options: { ...DEFAULT_DRIFT_OPTIONS, rules: [{ name: "shop-web" }] },
      });
      assert.deepEqual(report.resources, []);
      assert.equal(report.ignored.rule, 1);
    }
  });

  it("configured managers", () => {
    const report = driftOf(base, {
      options: { ...DEFAULT_DRIFT_OPTIONS, ignoreManagers: ["kubectl-patch", "kubectl-label"] },
    });
    assert.equal(report.ignored.manager, 4);
  });

  it("annotations on the live object", () => {
    const { declared, live } = fixture(base);
    const annotated = (annotations: Record<string, string>) => {
      const metadata = live.metadata as Body;
      return {
        ...live,
        metadata: { ...metadata, annotations: { ...(metadata.annotations as Body), ...annotations } },
      };
    };
    const run = (object: Body) =>
      analyzeDrift({
        release: "shop",
        namespace: "rw3",
        baseRevision: 1,
        baseIsDeployed: true,
        objects: [{ apiVersion: "apps/v1", kind: "Deployment", name: "shop-web", body: declared }],
        namespaced: () => true,
        lookup: () => ({ state: "found", object }),
        hpaTargets: new Set(),
        options: DEFAULT_DRIFT_OPTIONS,
      });
    const some = run(annotated({ "helm-drift-exporter/ignore-paths": "/spec/replicas, /metadata/labels" }));
    assert.equal(some.ignored.annotation, 2);
    assert.equal(some.resources[0]?.fields.length, 4);
    const all = run(annotated({ "helm-drift-exporter/ignore": "true" }));
    assert.deepEqual(all.resources, []);
    assert.equal(all.ignored.annotation, 6);
  });
});

describe("missing and unchecked", () => {
  it("reports missing objects and unchecked kinds, never as in sync", () => {
    const { declared } = fixture("rw3/Deployment/shop-web");
    const report = analyzeDrift({
      release: "shop",
      namespace: "rw3",
      baseRevision: 4,
      baseIsDeployed: false,
      objects: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "gone", body: declared },
        { apiVersion: "example.com/v1", kind: "Widget", name: "w", body: {} },
        { apiVersion: "v1", kind: "Secret", name: "s", body: {} },
      ],
      namespaced: (_apiVersion, kind) => (kind === "Widget" ? undefined : true),
      lookup: (ref) =>
        ref.kind === "Deployment"
          ? { state: "missing" }
          : ref.kind === "Widget"
            ? { state: "unchecked", reason: "not_served", message: "no Widget" }
            : { state: "unchecked", reason: "forbidden", message: "RBAC" },
      hpaTargets: new Set(),
      options: DEFAULT_DRIFT_OPTIONS,
    });
    assert.deepEqual(
      report.resources.map((r) => [r.resource.kind, r.resource.namespace, r.state, r.uncheckedReason]),
      [
        ["Deployment", "rw3", "missing", undefined],
        ["Widget", "rw3", "unchecked", "not_served"],
        ["Secret", "rw3", "unchecked", "forbidden"],
      ],
    );
    assert.equal(report.managedResources, 3);
    assert.equal(report.baseIsDeployed, false);
  });
});

describe("paths", () => {
  it("formats and matches pointers", () => {
    const path = [{ field: "spec" }, { field: "containers" }, { key: { name: "web" } }, { field: "image" }];
    assert.equal(formatPath(path), "spec.containers[name=web].image");
    assert.ok(pointerMatches("/spec/containers/name=web/image", path));
    assert.ok(pointerMatches("/spec/containers/*", path));
    assert.ok(pointerMatches("/spec", path));
    assert.ok(!pointerMatches("/spec/containers/name=db", path));
    assert.ok(
      pointerMatches("/metadata/labels/app.kubernetes.io~1name", [
        { field: "metadata" },
        { field: "labels" },
        { field: "app.kubernetes.io/name" },
      ]),
    );
  });
});
