import { testSnapshot } from "../../test/support/snapshot.ts";
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import express from "express";
import { Gauge, Registry } from "prom-client";
import request from "supertest";
import { analyzeStatus } from "../analysis/status.ts";
import { decodeReleaseNow } from "../helm/decode.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { scanBlockJson, toReleaseJson, toScanJson } from "../output/json.ts";
import type { ReleaseFindings, Snapshot } from "../report/snapshot.ts";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { createApp } from "./app.ts";
import { jsonErrors } from "./errors.ts";
import { preparePublication } from "../serve/publication.ts";
import { PublicationStore } from "./store.ts";

function snapshot(more: readonly ReleaseFindings[] = []): Snapshot {
  const report = analyzeStatus({
    namespace: "apps",
    release: "web",
    storage: "secret",
    revisions: [{ revision: 1, status: "deployed" }],
    latest: decodeReleaseNow(encodeRelease(releaseRecord())),
  });
  const now = new Date("2026-11-24T10:00:00Z");
  return testSnapshot({
    startedAt: now,
    finishedAt: now,
    releases: [report, ...more],
    collectors: [{ name: "releases", success: true, durationSeconds: 0.2, errors: [] }],
  });
}

function setup(telemetryPath = "/metrics") {
  const store = new PublicationStore();
  const app = createApp({
    store,
    registry: new SelfMetrics({ processMetrics: false }).registry,
    telemetryPath,
  });
  return { store, app };
}

describe("HTTP endpoints", () => {
  it("serves a landing page linking the endpoints", async () => {
    const response = await request(setup("/custom").app).get("/").expect(200).expect("Content-Type", /html/);
    assert.match(response.text, /helm-drift-exporter/);
    assert.match(response.text, /href="\/custom"/);
    assert.match(response.text, /href="\/api\/v1\/releases"/);
  });

  it("is healthy at once and ready only after the first scan", async () => {
    const { app, store } = setup();
    await request(app).get("/healthz").expect(200, "ok\n");
    await request(app).get("/readyz").expect(503);
    await request(app).get("/api/v1/releases").expect(503);
    store.set(await preparePublication(snapshot()));
    await request(app).get("/readyz").expect(200, "ok\n");
  });

  it("serves self metrics before the first scan and release metrics after it", async () => {
    const { app, store } = setup();
    const before = await request(app)
      .get("/metrics")
      .expect(200)
      .expect("Content-Type", /text\/plain/);
    assert.match(before.text, /helm_drift_exporter_build_info\{version="[^"]+",node_version="v\d+/);
    assert.doesNotMatch(before.text, /helm_release_status/);
    store.set(await preparePublication(snapshot()));
    const after = await request(app).get("/metrics").expect(200);
    assert.match(after.text, /helm_release_status\{namespace="apps",release="web",status="deployed"\} 1/);
    assert.match(after.text, /helm_release_status\{namespace="apps",release="web",status="failed"\} 0/);
    assert.match(
      after.text,
      /helm_release_info\{namespace="apps",release="web",chart="web",chart_version="1.2.3",app_version="4.5.6",storage="secret"\} 1/,
    );
    assert.match(after.text, /helm_drift_exporter_last_scan_timestamp_seconds 1795\d+/);
  });

  it("serves gzip when asked, as one member that decompresses to the same exposition", async () => {
    const { app, store } = setup();
    store.set(await preparePublication(snapshot()));
    const plain = await request(app).get("/metrics").set("Accept-Encoding", "identity").expect(200);
    assert.equal(plain.headers["content-encoding"], undefined);
    // Raw bytes, not supertest: it would decompress them itself.
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const zipped = await new Promise<{ headers: http.IncomingHttpHeaders; raw: Buffer }>(
      (resolve, reject) => {
        http
          .get(
            `http://127.0.0.1:${String(port)}/metrics`,
            { headers: { "Accept-Encoding": "gzip" } },
            (response) => {
              const chunks: Buffer[] = [];
              response.on("data", (chunk: Buffer) => chunks.push(chunk));
              response.on("end", () => {
                resolve({ headers: response.headers, raw: Buffer.concat(chunks) });
              });
            },
          )
          .on("error", reject);
      },
    );
    server.close();
    const { headers, raw } = zipped;
    assert.equal(headers["content-encoding"], "gzip");
    assert.match(headers.vary ?? "", /Accept-Encoding/);
    assert.equal(Number(headers["content-length"]), raw.length);
    assert.ok(raw.length < plain.text.length / 2, "compressed");
    // gunzipSync checks the CRC-32 and the length in the trailer.
    assert.equal(gunzipSync(raw).toString("utf8"), plain.text);
  });

  it("collects the live metrics once per max age, and serves a new scan at once", async () => {
    const metrics = new SelfMetrics({ processMetrics: false });
    const store = new PublicationStore();
    const app = (liveMetricsMaxAgeMs: number) =>
      createApp({ store, registry: metrics.registry, telemetryPath: "/metrics", liveMetricsMaxAgeMs });
    const cached = app(60_000);
    const scrape = async (target = cached) => {
      const text = (await request(target).get("/metrics").expect(200)).text;
      return {
        scans: /^helm_drift_exporter_scans_total\{result="success"\} (\d+)$/m.exec(text)?.[1],
        releases: /^helm_drift_exporter_releases (\d+)$/m.exec(text)?.[1],
      };
    };
    store.set(await preparePublication(snapshot()));
    metrics.scanFinished("success");
    assert.deepEqual(await scrape(), { scans: "1", releases: "1" });
    metrics.scanFinished("success");
    const second = analyzeStatus({
      namespace: "apps",
      release: "api",
      storage: "secret",
      revisions: [{ revision: 1, status: "deployed" }],
      latest: decodeReleaseNow(encodeRelease(releaseRecord({ name: "api" }))),
    });
    store.set(await preparePublication(snapshot([second])));
    assert.deepEqual(await scrape(), { scans: "1", releases: "2" }, "live part reused, snapshot new");
    assert.deepEqual(await scrape(app(0)), { scans: "2", releases: "2" });
  });

  it("serves the telemetry path it is configured with", async () => {
    const { app } = setup("/custom");
    await request(app).get("/custom").expect(200);
    await request(app).get("/metrics").expect(404);
  });

  it("serves releases as JSON, one release by name, and 404 for an unknown one", async () => {
    const { app, store } = setup();
    store.set(await preparePublication(snapshot()));
    const list = await request(app).get("/api/v1/releases").expect(200).expect("Content-Type", /json/);
    const body = list.body as { scan: { success: boolean }; releases: { release: string; status: string }[] };
    assert.equal(body.scan.success, true);
    assert.deepEqual(
      body.releases.map((r) => [r.release, r.status]),
      [["web", "deployed"]],
    );
    const one = await request(app).get("/api/v1/releases/apps/web").expect(200);
    assert.equal((one.body as { release: { chart: { name: string } } }).release.chart.name, "web");
    await request(app).get("/api/v1/releases/apps/nope").expect(404);
  });

  it("answers the API with the bytes, status and headers Express's response.json gave", async () => {
    const { app, store } = setup();
    const web = snapshot().releases[0];
    assert.ok(web);
    const cafe = { ...web, namespace: "shop", release: "café", description: "déployé ✓" };
    const both = snapshot([cafe]);
    store.set(await preparePublication(both));
    // The handlers as they were before the API was rendered once per scan.
    const reference = express();
    reference.disable("x-powered-by");
    reference.set("etag", false);
    const scan = scanBlockJson(both);
    reference.get("/api/v1/releases", (_request, response) => {
      response.json(toScanJson(both));
    });
    reference.get("/api/v1/releases/:namespace/:release", (incoming, response) => {
      const { namespace, release } = incoming.params;
      const report = both.releases.find((r) => r.namespace === namespace && r.release === release);
      if (report) response.json({ scan, release: toReleaseJson(report) });
      else response.status(404).json({ error: `no release ${namespace}/${release} in the last scan` });
    });
    for (const path of [
      "/api/v1/releases",
      "/api/v1/releases/apps/web",
      `/api/v1/releases/shop/${encodeURIComponent("café")}`,
      "/api/v1/releases/apps/nope",
    ]) {
      for (const method of ["get", "head"] as const) {
        const [ours, theirs] = await Promise.all([
          request(app)[method](path),
          request(reference)[method](path),
        ]);
        assert.equal(ours.status, theirs.status, `${method} ${path}`);
        assert.equal(ours.text, theirs.text, `${method} ${path}`);
        const headers = (response: request.Response) => ({
          ...(response.headers as Record<string, string>),
          date: "",
        });
        assert.deepEqual(headers(ours), headers(theirs), `${method} ${path}`);
      }
    }
  });

  it("never serves user values", async () => {
    const { app, store } = setup();
    store.set(await preparePublication(snapshot()));
    for (const path of ["/metrics", "/api/v1/releases", "/api/v1/releases/apps/web"]) {
      const response = await request(app).get(path).expect(200);
      assert.doesNotMatch(response.text, /user-supplied-secret|chart-default-secret/, path);
    }
  });

  it("answers 404 elsewhere", async () => {
    await request(setup().app).get("/nope").expect(404);
  });
});

describe("errors", () => {
  const noInstallPaths = (text: string) => {
    assert.doesNotMatch(
      text,
      /node_modules|\/work\/|at [A-Za-z.<>]+ \(|<pre>|<html/i,
      "no stack, no paths, no HTML",
    );
  };

  for (const nodeEnv of [undefined, "development", "production"]) {
    it(`answers a malformed URL with a JSON 400 (NODE_ENV ${nodeEnv ?? "unset"})`, async () => {
      const saved = process.env.NODE_ENV;
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
      try {
        const { app, store } = setup();
        store.set(await preparePublication(snapshot()));
        const response = await request(app)
          .get("/api/v1/releases/%ZZ/x")
          .expect(400)
          .expect("Content-Type", /json/);
        assert.deepEqual(response.body, { error: "Failed to decode param '%ZZ'" });
        noInstallPaths(response.text);
      } finally {
        if (saved === undefined) delete process.env.NODE_ENV;
        else process.env.NODE_ENV = saved;
      }
    });
  }

  it("answers a failing handler with a JSON 500 that says nothing of the failure, and reports it", async () => {
    const reported: unknown[] = [];
    const failing = new Registry();
    failing.registerMetric(
      new Gauge({
        name: "failing",
        help: "throws when collected",
        collect() {
          throw new Error("collector failed at /work/secret/path.ts:1");
        },
      }),
    );
    const app = createApp({
      store: new PublicationStore(),
      registry: failing,
      telemetryPath: "/metrics",
      onServerError: (error) => reported.push(error),
    });
    const response = await request(app).get("/metrics").expect(500).expect("Content-Type", /json/);
    assert.deepEqual(response.body, { error: "Internal Server Error" });
    noInstallPaths(response.text);
    assert.equal(reported.length, 1);
  });

  it("answers any error Express raises as JSON: a body it cannot parse, a handler that throws", async () => {
    const app = express();
    app.post("/body", express.json(), (_request, response) => {
      response.send("parsed");
    });
    app.get("/throws", () => {
      throw new Error("boom at /work/wt-web/src/x.ts:10:3");
    });
    app.get("/half", (_request, response) => {
      response.write("partial");
      throw new Error("after the headers");
    });
    const reported: unknown[] = [];
    app.use(jsonErrors((error) => reported.push(error)));
    const parse = await request(app)
      .post("/body")
      .set("Content-Type", "application/json")
      .send("{oops")
      .expect(400);
    assert.equal(typeof (parse.body as { error: unknown }).error, "string");
    noInstallPaths(parse.text);
    const thrown = await request(app).get("/throws").expect(500);
    assert.deepEqual(thrown.body, { error: "Internal Server Error" });
    await assert.rejects(request(app).get("/half"), "a half-sent answer is cut short, never completed");
    assert.equal(reported.length, 2, "the two server errors are reported, the client's is not");
  });
});
