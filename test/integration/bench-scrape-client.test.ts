/**
 * The bench's /metrics latency client: its figures decide a target, so it is held to what it
 * claims: every scheduled scrape is made, and a late answer counts from when it was due.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { scrapeOnSchedule } from "../../bench/scrape-client.ts";

describe("bench scrape client", () => {
  let server: http.Server;
  let url = "";
  let served = 0;
  let askedForGzip = 0;
  before(async () => {
    server = http.createServer((request, response) => {
      served++;
      const gzip = request.headers["accept-encoding"]?.includes("gzip") ?? false;
      if (gzip) askedForGzip++;
      // Every fifth answer is 40 ms late; the rest answer at once.
      setTimeout(
        () => {
          response.writeHead(200, gzip ? { "Content-Encoding": "gzip" } : {});
          response.end("0123456789");
        },
        served % 5 === 0 ? 40 : 0,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/metrics`;
  });
  after(() => {
    server.close();
  });

  it("makes every scheduled scrape, asks for gzip, and counts lateness from the schedule", async () => {
    const result = await scrapeOnSchedule(url, 2, 50, 0.4);
    assert.equal(result.latenciesMs.length, 2 * 20);
    assert.equal(served, 40);
    assert.equal(askedForGzip, 40, "as Prometheus scrapes");
    assert.equal(result.wireBytes, 10);
    assert.deepEqual(
      result.latenciesMs,
      [...result.latenciesMs].sort((a, b) => a - b),
    );
    // One answer in five is 40 ms late: the slowest fifth of the latencies are at least that.
    assert.ok((result.latenciesMs.at(-8) ?? 0) >= 39, JSON.stringify(result.latenciesMs));
    assert.ok((result.latenciesMs[0] ?? Infinity) < 40);
    assert.ok(result.clientDelayP99Ms >= 0);
  });
});
