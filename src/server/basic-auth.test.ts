import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { tempDir } from "../../test/support/pki.ts";
import { startWeb } from "../../test/support/web.ts";
import { dummyHash, OutcomeCache, parseBasicAuth } from "./basic-auth.ts";
import type { BcryptThread } from "./bcrypt-thread.ts";
import { RateLimiter } from "./rate-limit.ts";

/** A GET on its own connection, as a separate client would send it. */
function get(url: string, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, ...(auth && { auth }) }, (response) => {
        response.resume();
        response.on("end", () => {
          resolve(response.statusCode ?? 0);
        });
      })
      .on("error", reject);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

describe("basic auth", () => {
  it("keeps probes and cached scrapes answering while a flood of bad passwords is hashed", async (t) => {
    // A high cost makes each refused password long bcrypt work: on the serving thread, one of
    // them would hold every probe behind it. (Made once: bcrypt "the-admin-password", cost 14.)
    const flooded = "$2b$14$7vC66SRvWf1VIJvqYng5q.6B1k5rJ7ICoU1zJBojT/cFVeGEMDAFq";
    const scraper = bcrypt.hashSync("scrape-me", 4);
    let checksStarted = 0;
    const web = await startWeb(
      tempDir("hde-auth-"),
      `basic_auth_users:\n  admin: "${flooded}"\n  prom: "${scraper}"\n`,
      {
        check: (thread: BcryptThread) => (password, hash) => {
          checksStarted++;
          return thread.compare(password, hash);
        },
      },
    );
    try {
      assert.equal(
        await get(`${web.url}/metrics`, "prom:scrape-me"),
        200,
        "the scraper's credentials, now cached",
      );
      const checksBeforeFlood = checksStarted;

      let floodAnswers = 0;
      let floodStopped = false;
      const stopped = () => floodStopped;
      const floodStatuses = new Set<number>();
      const flooders = Array.from({ length: 8 }, async (_, client) => {
        for (let attempt = 0; !stopped(); attempt++) {
          const user = attempt % 2 === 0 ? "admin" : `nobody-${String(client)}`;
          const status = await get(
            `${web.url}/metrics`,
            `${user}:wrong-${String(client)}-${String(attempt)}`,
          ).catch(() => 0);
          if (stopped()) break;
          floodStatuses.add(status);
          floodAnswers++;
        }
      });
      while (checksStarted - checksBeforeFlood < 8) await new Promise((resolve) => setImmediate(resolve));

      const probe: number[] = [];
      const scrape: number[] = [];
      for (let round = 0; round < 10; round++) {
        let started = performance.now();
        assert.equal(await get(`${web.url}/healthz`), 200);
        probe.push(performance.now() - started);
        started = performance.now();
        assert.equal(await get(`${web.url}/metrics`, "prom:scrape-me"), 200);
        scrape.push(performance.now() - started);
      }
      const answeredDuringProbes = floodAnswers;
      const stillQueued = web.bcrypt.pending;
      floodStopped = true;
      probe.sort((a, b) => a - b);
      scrape.sort((a, b) => a - b);
      t.diagnostic(
        `under a flood of 8 clients (bcrypt cost 14): /healthz p50 ${percentile(probe, 0.5).toFixed(1)} ms, max ${percentile(probe, 1).toFixed(1)} ms; ` +
          `cached scrape p50 ${percentile(scrape, 0.5).toFixed(1)} ms, max ${percentile(scrape, 1).toFixed(1)} ms; ` +
          `${String(answeredDuringProbes)} flood answers meanwhile, ${String(stillQueued)} checks still queued`,
      );
      assert.equal(
        answeredDuringProbes,
        0,
        "every probe and scrape was answered before the first bad password was",
      );
      assert.ok(stillQueued > 0, "bcrypt work was still pending when the last probe was answered");
      await web.bcrypt.close();
      await Promise.all(flooders);
      assert.ok(
        [...floodStatuses].every((status) => status === 401),
        `flood answers: ${[...floodStatuses].join(",")}`,
      );
    } finally {
      await web.close();
    }
  });

  it("checks an unknown user against a dummy hash as costly as the users', like a known one", async () => {
    const users = { alice: bcrypt.hashSync("a", 4), bob: bcrypt.hashSync("b", 6) };
    const checked: string[] = [];
    const web = await startWeb(
      tempDir("hde-auth-"),
      `basic_auth_users:\n  alice: "${users.alice}"\n  bob: "${users.bob}"\n`,
      {
        check: (thread) => (password, hash) => {
          checked.push(hash);
          return thread.compare(password, hash);
        },
      },
    );
    try {
      assert.equal(await get(`${web.url}/metrics`, "alice:wrong"), 401);
      assert.equal(await get(`${web.url}/metrics`, "mallory:wrong"), 401);
      const dummy = dummyHash(new Map(Object.entries(users)));
      assert.deepEqual(checked, [users.alice, dummy], "both went through bcrypt");
      assert.equal(dummy.slice(0, 7), "$2y$06$", "the dummy costs what the costliest user does");
      assert.ok(
        !bcrypt.compareSync("wrong", dummy) && !bcrypt.compareSync("", dummy),
        "the dummy matches nothing",
      );

      assert.equal(await get(`${web.url}/metrics`, "mallory:a"), 401);
      assert.equal(await get(`${web.url}/metrics`, "alice:a"), 200);
      assert.equal(await get(`${web.url}/metrics`, "alice:a"), 200);
      assert.equal(await get(`${web.url}/metrics`, "alice:wrong"), 401);
      assert.deepEqual(checked.length, 4, "repeated credentials, good or bad, come from the cache");
      assert.equal(await get(`${web.url}/metrics`), 401, "no credentials: refused without bcrypt");
      assert.equal(checked.length, 4);
    } finally {
      await web.close();
    }
  });

  it("leaves the health endpoints open and sets the configured headers on every answer", async () => {
    const web = await startWeb(
      tempDir("hde-auth-"),
      `basic_auth_users:\n  prom: "${bcrypt.hashSync("pw", 4)}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
    );
    try {
      for (const [path, status] of [
        ["/healthz", 200],
        ["/readyz", 503],
        ["/metrics", 401],
        ["/api/v1/releases", 401],
        ["/", 401],
      ] as const) {
        const response = await fetch(`${web.url}${path}`);
        assert.equal(response.status, status, path);
        assert.equal(response.headers.get("x-frame-options"), "deny", path);
      }
    } finally {
      await web.close();
    }
  });

  it("parses the Authorization header as Go's Request.BasicAuth does", () => {
    const header = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;
    assert.deepEqual(parseBasicAuth(header("prom:pa:ss")), { user: "prom", password: "pa:ss" });
    assert.deepEqual(parseBasicAuth(`bAsIc ${Buffer.from("u:p").toString("base64")}`), {
      user: "u",
      password: "p",
    });
    assert.deepEqual(parseBasicAuth(header(":p")), { user: "", password: "p" });
    assert.equal(parseBasicAuth(header("no-colon")), undefined);
    assert.equal(parseBasicAuth("Basic not*base64"), undefined);
    assert.equal(parseBasicAuth("Basic dTpw="), undefined, "bad padding");
    assert.equal(parseBasicAuth("Bearer x"), undefined);
    assert.equal(parseBasicAuth(undefined), undefined);
  });

  it("remembers at most 100 outcomes, as exporter-toolkit's cache", () => {
    const cache = new OutcomeCache();
    for (let i = 0; i < 1000; i++) cache.set(String(i), true);
    let kept = 0;
    for (let i = 0; i < 1000; i++) if (cache.get(String(i)) !== undefined) kept++;
    assert.ok(kept <= 100 && kept > 80, String(kept));
    assert.equal(cache.get("999"), true, "the newest is kept");
  });
});

describe("rate_limit", () => {
  it("is golang.org/x/time/rate's bucket: starts full, one token per interval", () => {
    const limiter = new RateLimiter({ intervalMs: 1000, burst: 2 }, 0);
    assert.deepEqual([limiter.allow(0), limiter.allow(1), limiter.allow(2)], [true, true, false]);
    assert.equal(limiter.allow(999), false);
    assert.equal(limiter.allow(1002), true);
    assert.equal(
      new RateLimiter({ intervalMs: 1000, burst: 0 }, 0).allow(5000),
      false,
      "burst 0 allows nothing",
    );
  });

  it("answers 429 beyond the limit, and never to the health endpoints", async () => {
    const web = await startWeb(tempDir("hde-rate-"), 'rate_limit:\n  interval: "1h"\n  burst: 1\n');
    try {
      assert.equal(await get(`${web.url}/metrics`), 200);
      assert.equal(await get(`${web.url}/metrics`), 429);
      assert.equal(await get(`${web.url}/healthz`), 200);
    } finally {
      await web.close();
    }
  });
});
