import assert from "node:assert/strict";
import http from "node:http";
import { afterEach, describe, it } from "node:test";
import {
  json,
  openWatch,
  status,
  stubAuth,
  stubServer,
  type StubServer,
} from "../../test/support/stub-http.ts";
import {
  KubeApiError,
  KubeClient,
  KubeTimeoutError,
  KubeUnavailableError,
  type ObservedRequest,
  type RequestObserver,
  type WatchEvent,
} from "./client.ts";
import type { RetryPolicy } from "./retry.ts";

/** Short backoffs, so tests of retries by backoff alone take milliseconds; Retry-After still counts in seconds. */
const FAST_RETRY: RetryPolicy = { maxRetries: 10, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 32_000 };

class Recorder implements RequestObserver {
  readonly requests: ObservedRequest[] = [];
  observe(request: ObservedRequest): void {
    this.requests.push(request);
  }
  get codes(): number[] {
    return this.requests.map((request) => request.code);
  }
  get failures(): (string | undefined)[] {
    return this.requests.map((request) => request.failure);
  }
}

const object = (name: string, resourceVersion = "1") => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: StubServer | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close();
  server = undefined;
});

async function setUp(
  handler: Parameters<typeof stubServer>[0],
  options: { timeoutMs?: number; breakerCooldownMs?: number } = {},
) {
  server = await stubServer(handler);
  const recorder = new Recorder();
  client = new KubeClient(stubAuth(server.url), recorder, { retry: FAST_RETRY, ...options });
  return { server, client, recorder };
}

describe("KubeClient lists", () => {
  it("follows continue tokens page by page, with the selector and limit on every page", async () => {
    const pages: Record<string, unknown> = {
      "": { metadata: { continue: "t1", resourceVersion: "10" }, items: [object("a"), object("b")] },
      t1: { metadata: { continue: "t2", resourceVersion: "10" }, items: [object("c")] },
      t2: { metadata: { continue: "", resourceVersion: "10" }, items: [object("d")] },
    };
    const { server, client } = await setUp((request, response) => {
      json(response, 200, pages[request.url.searchParams.get("continue") ?? ""]);
    });
    const seen: string[][] = [];
    const version = await client.listPages(
      "/api/v1/secrets",
      "secrets",
      { labelSelector: "owner=helm", pageSize: 2, resourceVersion: "0" },
      (items) => {
        seen.push(items.map((item) => item.metadata.name));
      },
    );
    assert.deepEqual(seen, [["a", "b"], ["c"], ["d"]]);
    assert.equal(version, "10");
    const queries = server.requests.map((request) => Object.fromEntries(request.url.searchParams));
    assert.deepEqual(queries, [
      { limit: "2", labelSelector: "owner=helm", resourceVersion: "0" },
      { limit: "2", labelSelector: "owner=helm", continue: "t1" },
      { limit: "2", labelSelector: "owner=helm", continue: "t2" },
    ]);
  });

  it("asks for PartialObjectMetadata when metadata-only, for lists and watches", async () => {
    const { server, client } = await setUp((request, response) => {
      if (request.url.searchParams.get("watch") === "true") response.end();
      else json(response, 200, { metadata: { resourceVersion: "1" }, items: [] });
    });
    await client.list("/api/v1/configmaps", "configmaps", { metadataOnly: true });
    await client.list("/api/v1/configmaps", "configmaps");
    await client.watch(
      "/api/v1/configmaps",
      "configmaps",
      { metadataOnly: true, resourceVersion: "1", timeoutSeconds: 1 },
      () => undefined,
    );
    assert.deepEqual(
      server.requests.map((request) => request.headers.accept),
      [
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
        "application/json",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
      ],
    );
  });

  it("keeps the server's path prefix (a gateway's) before the API path", async () => {
    server = await stubServer((_request, response) => {
      json(response, 200, { metadata: {}, items: [] });
    });
    client = new KubeClient(stubAuth(`${server.url}/k8s/clusters/c-1/`));
    await client.list("/api/v1/pods", "pods");
    assert.equal(server.requests[0]?.url.pathname, "/k8s/clusters/c-1/api/v1/pods");
  });

  it("fails a forbidden list at once, with the status, and observes it", async () => {
    const { client, recorder } = await setUp((_request, response) => {
      json(response, 403, status(403, "Forbidden", 'secrets is forbidden: User "x" cannot list'));
    });
    await assert.rejects(client.list("/api/v1/secrets", "secrets"), (error: unknown) => {
      assert.ok(error instanceof KubeApiError && error.isForbidden, String(error));
      return true;
    });
    assert.deepEqual(recorder.codes, [403], "not retried");
    assert.deepEqual(recorder.failures, ["403"]);
  });
});

describe("KubeClient retries reads", () => {
  it("retries 429 and 503, waiting at least the Retry-After, and observes every attempt", async (t) => {
    const answers = [
      {
        code: 429,
        headers: { "Retry-After": "1" },
        body: status(429, "TooManyRequests", "storage is (re)initializing"),
      },
      { code: 503, headers: {}, body: status(503, "ServiceUnavailable") },
    ];
    const { server, client, recorder } = await setUp((_request, response) => {
      const answer = answers.shift();
      if (answer) json(response, answer.code, answer.body, answer.headers);
      else json(response, 200, object("ok"));
    });
    const got = await client.get<{ metadata: { name: string } }>(
      "/api/v1/namespaces/ns/secrets/ok",
      "secrets",
    );
    assert.equal(got.metadata.name, "ok");
    assert.deepEqual(recorder.codes, [429, 503, 200]);
    assert.deepEqual(recorder.failures, ["429", "503", undefined]);
    const [first, second] = server.requests;
    assert.ok(first && second);
    const gap = second.at - first.at;
    t.diagnostic(`gap after Retry-After: 1 was ${gap.toFixed(0)} ms`);
    assert.ok(gap >= 1000, `retried after ${String(gap)} ms, before the server's Retry-After of 1 s`);
  });

  it("does not retry when the server asks to wait longer than the cap", async () => {
    const { client, recorder } = await setUp((_request, response) => {
      json(response, 429, status(429, "TooManyRequests"), { "Retry-After": "3600" });
    });
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), (error: unknown) => {
      assert.ok(error instanceof KubeApiError && error.status === 429 && error.retryAfter === "3600");
      return true;
    });
    assert.deepEqual(recorder.codes, [429]);
  });

  it("gives up after the policy's retries, with the last status", async () => {
    const { client, recorder } = await setUp((_request, response) => {
      json(response, 500, status(500, "InternalError"));
    });
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), /500 InternalError/);
    assert.equal(recorder.requests.length, FAST_RETRY.maxRetries + 1);
  });

  it("after a read gives up, fails reads at once for a cool-down, then sends one at a time, once, until one is answered", async () => {
    let healthy = false;
    const { client, recorder } = await setUp(
      (_request, response) => {
        if (healthy) json(response, 200, { kind: "NamespaceList", items: [] });
        else json(response, 503, status(503, "ServiceUnavailable"));
      },
      { breakerCooldownMs: 200 },
    );
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), /503/);
    assert.equal(recorder.requests.length, FAST_RETRY.maxRetries + 1, "the first read retries");
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), KubeUnavailableError);
    assert.equal(recorder.requests.length, FAST_RETRY.maxRetries + 1, "during the cool-down nothing is sent");
    await sleep(250);
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), /503/);
    await sleep(250);
    await assert.rejects(client.get("/api/v1/pods", "pods"), /503/);
    assert.equal(recorder.requests.length, FAST_RETRY.maxRetries + 3, "then one attempt each");
    await sleep(250);
    const [probe, meanwhile] = await Promise.allSettled([
      client.get("/api/v1/namespaces", "namespaces"),
      client.get("/api/v1/pods", "pods"),
    ]);
    assert.match(String(probe.status === "rejected" && probe.reason), /503/);
    assert.ok(meanwhile.status === "rejected" && meanwhile.reason instanceof KubeUnavailableError);
    assert.equal(recorder.requests.length, FAST_RETRY.maxRetries + 4, "one read at a time is sent");
    healthy = true;
    await sleep(250);
    await client.get("/api/v1/namespaces", "namespaces");
    healthy = false;
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), /503/);
    assert.equal(recorder.requests.length, 2 * FAST_RETRY.maxRetries + 6, "an answer brings retries back");
  });

  it("stops waiting and retrying as soon as the caller aborts", async () => {
    const controller = new AbortController();
    const { server, client } = await setUp((_request, response) => {
      json(response, 503, status(503, "ServiceUnavailable"), { "Retry-After": "20" });
      // While the client waits out the Retry-After.
      setTimeout(() => {
        controller.abort(new Error("scan timed out"));
      }, 200);
    });
    const read = client.get("/api/v1/namespaces", "namespaces", controller.signal).then(
      () => "answered",
      (error: unknown) => error,
    );
    // An ordering, not a speed: the abort is honoured before the server's 20 s Retry-After ends.
    const first = await Promise.race([read, sleep(10_000).then(() => "still waiting out the Retry-After")]);
    assert.ok(first instanceof Error, String(first));
    assert.equal(first.name, "AbortError");
    assert.match(String(first.cause), /scan timed out/);
    assert.equal(server.requests.length, 1, "no attempt after the abort");
  });

  it("retries a refused connection, observed with code 0, until the server is up", async () => {
    // A port nothing listens on until the first attempt has been refused.
    const probe = await stubServer(() => undefined);
    const port = probe.port;
    await probe.close();
    let late: Promise<StubServer> | undefined;
    const recorder = new Recorder();
    const observer: RequestObserver = {
      observe: (request) => {
        recorder.observe(request);
        if (request.code === 0)
          late ??= stubServer((_request, response) => {
            json(response, 200, object("up"));
          }, port);
      },
    };
    client = new KubeClient(stubAuth(`http://127.0.0.1:${String(port)}`), observer, {
      retry: { ...FAST_RETRY, baseDelayMs: 100, maxDelayMs: 400 },
    });
    try {
      const got = await client.get<{ metadata: { name: string } }>("/api/v1/x", "x");
      assert.equal(got.metadata.name, "up");
      assert.equal(recorder.codes[0], 0);
      assert.equal(recorder.failures[0], "network");
      assert.equal(recorder.codes.at(-1), 200);
      assert.equal(recorder.failures.at(-1), undefined);
    } finally {
      await (await late)?.close();
    }
  });

  it("fails a black-holed request after the request timeout, without retrying it", async () => {
    const { client, recorder } = await setUp(() => undefined /* never answers */, { timeoutMs: 300 });
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces"), (error: unknown) => {
      assert.ok(error instanceof KubeTimeoutError, String(error));
      return true;
    });
    assert.deepEqual(recorder.codes, [0]);
    assert.deepEqual(recorder.failures, ["timeout"]);
  });

  it("observes a read the caller stops while it waits for the answer as canceled, not as the server's failure", async () => {
    const controller = new AbortController();
    const { client, recorder } = await setUp(() => {
      controller.abort(new Error("shutting down")); // the request arrived; it is never answered
    });
    await assert.rejects(client.get("/api/v1/namespaces", "namespaces", controller.signal), {
      name: "AbortError",
    });
    assert.deepEqual(recorder.failures, ["canceled"]);
  });
});

describe("KubeClient watches", () => {
  it("streams events, asks for bookmarks, and tells when it heard the server", async () => {
    const { server, client } = await setUp((_request, response) => {
      const send = openWatch(response);
      send({ type: "ADDED", object: object("a", "5") });
      send({ type: "BOOKMARK", object: { metadata: { resourceVersion: "6" } } });
      response.end();
    });
    const events: WatchEvent[] = [];
    let heard = 0;
    await client.watch(
      "/api/v1/secrets",
      "secrets",
      { resourceVersion: "4", timeoutSeconds: 60, onHeard: () => heard++ },
      (event) => events.push(event),
    );
    assert.deepEqual(
      events.map((event) => [event.type, event.object.metadata.resourceVersion]),
      [
        ["ADDED", "5"],
        ["BOOKMARK", "6"],
      ],
    );
    assert.ok(heard >= 2, "heard the open and the bytes");
    const query = server.requests[0]?.url.searchParams;
    assert.deepEqual(
      [
        query?.get("watch"),
        query?.get("allowWatchBookmarks"),
        query?.get("resourceVersion"),
        query?.get("timeoutSeconds"),
      ],
      ["true", "true", "4", "60"],
    );
  });

  it("throws an ERROR event as a KubeApiError: 410 Gone, observed with the event's code", async () => {
    const { client, recorder } = await setUp((_request, response) => {
      openWatch(response)({
        type: "ERROR",
        object: status(410, "Expired", "too old resource version: 1 (5)"),
      });
    });
    await assert.rejects(
      client.watch(
        "/api/v1/secrets",
        "secrets",
        { resourceVersion: "1", timeoutSeconds: 60 },
        () => undefined,
      ),
      (error: unknown) => {
        assert.ok(error instanceof KubeApiError && error.isGone, String(error));
        return true;
      },
    );
    assert.deepEqual(recorder.failures, ["410"], "the stream began 200; the server's answer is the event");
  });

  it("throws a refused watch (403, 429 with its Retry-After) with its status, observed with its code", async () => {
    const answers = [() => status(403, "Forbidden"), () => status(429, "TooManyRequests")];
    const codes = [403, 429];
    const { client, recorder } = await setUp((_request, response) => {
      const code = codes.shift() ?? 500;
      json(response, code, answers.shift()?.(), code === 429 ? { "Retry-After": "3" } : {});
    });
    const watch = () =>
      client.watch(
        "/api/v1/secrets",
        "secrets",
        { resourceVersion: "1", timeoutSeconds: 60 },
        () => undefined,
      );
    await assert.rejects(watch(), (error: unknown) => error instanceof KubeApiError && error.isForbidden);
    await assert.rejects(
      watch(),
      (error: unknown) => error instanceof KubeApiError && error.retryAfter === "3",
    );
    assert.deepEqual(recorder.codes, [403, 429]);
    assert.deepEqual(recorder.failures, ["403", "429"]);
  });

  it("fails a watch that hears nothing for its idle timeout", async () => {
    const { client, recorder } = await setUp((_request, response) => {
      openWatch(response); // open, then silence: a black-holed connection looks the same
    });
    await assert.rejects(
      client.watch(
        "/api/v1/secrets",
        "secrets",
        { resourceVersion: "1", timeoutSeconds: 60, idleTimeoutMs: 300 },
        () => undefined,
      ),
      (error: unknown) => error instanceof KubeTimeoutError,
    );
    assert.deepEqual(recorder.failures, ["timeout"]);
  });

  it("observes a watch the exporter stops as canceled", async () => {
    const controller = new AbortController();
    const { client, recorder } = await setUp((_request, response) => {
      openWatch(response);
      setTimeout(() => {
        controller.abort();
      }, 50);
    });
    await assert.rejects(
      client.watch(
        "/api/v1/secrets",
        "secrets",
        { resourceVersion: "1", timeoutSeconds: 60, signal: controller.signal },
        () => undefined,
      ),
    );
    assert.deepEqual(recorder.failures, ["canceled"]);
  });
});

describe("KubeClient through a proxy", () => {
  it("sends requests through the proxy auth chose", async () => {
    const target = await stubServer((_request, response) => {
      json(response, 200, object("via-proxy"));
    });
    const proxied: string[] = [];
    const proxy = http.createServer((incoming, response) => {
      proxied.push(`${incoming.method ?? ""} ${incoming.url ?? ""}`);
      const upstream = http.request(incoming.url ?? "", { headers: incoming.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as { port: number };
    client = new KubeClient({ ...stubAuth(target.url), proxy: new URL(`http://127.0.0.1:${String(port)}`) });
    try {
      const got = await client.get<{ metadata: { name: string } }>("/api/v1/x", "x");
      assert.equal(got.metadata.name, "via-proxy");
      assert.deepEqual(proxied, [`GET ${target.url}/api/v1/x`]);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
      await target.close();
    }
  });
});
