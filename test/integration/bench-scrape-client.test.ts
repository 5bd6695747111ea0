/**
 * The bench's /metrics latency client: its figures decide a target, so it is held to what it
 * claims: every scheduled scrape is made, and a scrape held up behind a late answer counts from
 * when it was due.
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
      // The first answer is 100 ms late; the rest answer at once.
      setTimeout(
        () => {
          response.writeHead(200, gzip ? { "Content-Encoding": "gzip" } : {});
          response.end("0123456789");
        },
        served === 1 ? 100 : 0,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/metrics`;
  });
  after(() => {
    server.close();
  });

  it("makes every scheduled scrape, asks for gzip, and counts lateness from the schedule", async () => {
    // One scraper, a scrape due every 20 ms: the ones due while the first waited 100 ms are late.
    const result = await scrapeOnSchedule(url, 1, 50, 0.2);
    assert.equal(result.latenciesMs.length, 10);
    assert.equal(served, 10);
    assert.equal(askedForGzip, 10, "as Prometheus scrapes");
    assert.equal(result.wireBytes, 10);
    assert.deepEqual(
      result.latenciesMs,
      [...result.latenciesMs].sort((a, b) => a - b),
    );
    // Only lower bounds: a loaded machine can make any scrape later, none earlier.
    const slowest = result.latenciesMs.slice(-2);
    assert.ok((slowest[1] ?? 0) >= 99, "the late answer itself");
    assert.ok(
      (slowest[0] ?? 0) >= 79,
      `the scrape due 20 ms later waited for it: ${JSON.stringify(slowest)}`,
    );
    assert.ok(result.clientDelayP99Ms >= 0);
  });
});
