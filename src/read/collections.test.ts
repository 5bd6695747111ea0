import assert from "node:assert/strict";
import type http from "node:http";
import { afterEach, describe, it } from "node:test";
import {
  json,
  openWatch,
  status,
  stubAuth,
  stubServer,
  type StubRequest,
  type StubServer,
} from "../../test/support/stub-http.ts";
import { KubeClient, type KubeObject } from "../kube/client.ts";
import type { RetryPolicy } from "../kube/retry.ts";
import {
  Collections,
  DEFAULT_STALE_AFTER_MS,
  type CollectionSpec,
  type CollectionsOptions,
} from "./collections.ts";

const FAST_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 32_000 };
const PATH = "/api/v1/namespaces/ns/configmaps";

const keepName = (object: KubeObject) => object.metadata.name;
const SPEC: CollectionSpec<string> = { purpose: "test", path: PATH, resource: "configmaps", keep: keepName };

const object = (name: string, resourceVersion: string) => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; fails after `ms` (generous: it waits for the code under test, never measures it). */
async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`never: ${what}`);
    await sleep(10);
  }
}

/**
 * A stub collection: lists answer `listed` at `listVersion`; each watch request is handed to
 * `onWatch` (the test plays the server), whose answers are kept open until the test ends.
 */
interface Fixture {
  readonly server: StubServer;
  readonly collections: Collections;
  readonly lists: () => StubRequest[];
  readonly watches: () => StubRequest[];
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function fixture(
  onWatch: (request: StubRequest, response: http.ServerResponse, index: number) => void,
  options: Partial<CollectionsOptions> = {},
  onList: (response: http.ServerResponse, index: number) => void = (response) => {
    json(response, 200, { metadata: { resourceVersion: "10" }, items: [object("a", "9")] });
  },
): Promise<Fixture> {
  let watchIndex = 0;
  let listIndex = 0;
  const server = await stubServer((request, response) => {
    if (request.url.searchParams.get("watch") === "true") onWatch(request, response, watchIndex++);
    else onList(response, listIndex++);
  });
  const client = new KubeClient(stubAuth(server.url), undefined, { retry: FAST_RETRY });
  const collections = new Collections(client, { watch: true, ...options });
  cleanup = async () => {
    collections.close();
    client.close();
    await server.close();
  };
  const isWatch = (request: StubRequest) => request.url.searchParams.get("watch") === "true";
  return {
    server,
    collections,
    lists: () => server.requests.filter((request) => !isWatch(request)),
    watches: () => server.requests.filter(isWatch),
  };
}

const names = (map: ReadonlyMap<string, string>) => [...map.values()].sort();

describe("Collections: list once, then watch", () => {
  it("serves a warm read from the watch: no request at all", async () => {
    const { collections, server } = await fixture((_request, response) => {
      openWatch(response)({ type: "ADDED", object: object("b", "11") });
    });
    assert.deepEqual(names(await collections.read(SPEC)), ["a"]);
    await eventually(() => server.requests.length === 2, "the watch opened");
    await sleep(50); // the ADDED event arrives
    const before = server.requests.length;
    assert.deepEqual(names(await collections.read(SPEC)), ["a", "b"]);
    assert.equal(server.requests.length, before, "a warm read makes no request");
    assert.equal(collections.listCount, 1);
  });

  it("resumes a watch the server ended from the last resourceVersion seen", async () => {
    const { collections, watches } = await fixture((_request, response, index) => {
      const send = openWatch(response);
      if (index === 0) {
        send({ type: "ADDED", object: object("b", "12") });
        send({ type: "BOOKMARK", object: { metadata: { resourceVersion: "15" } } });
        response.end(); // the server's timeoutSeconds
      }
    });
    await collections.read(SPEC);
    await eventually(() => watches().length === 2, "the watch was resumed");
    assert.deepEqual(
      watches().map((request) => request.url.searchParams.get("resourceVersion")),
      ["10", "15"],
    );
    assert.equal(collections.listCount, 1, "resumed, not listed again");
    assert.equal(collections.states[0]?.synced, true);
  });

  it("lists again on the next read after a watch ERROR 410 Gone", async () => {
    const { collections, lists } = await fixture((_request, response, index) => {
      const send = openWatch(response);
      if (index === 0) send({ type: "ERROR", object: status(410, "Expired", "too old resource version") });
    });
    await collections.read(SPEC);
    await eventually(() => collections.states[0]?.synced === false, "the collection is unsynced");
    await collections.read(SPEC);
    assert.equal(lists().length, 2, "listed again");
    assert.equal(collections.states[0]?.synced, true);
  });

  it("reports a forbidden list as an error, never as an empty collection", async () => {
    const { collections } = await fixture(
      () => undefined,
      {},
      (response) => {
        json(response, 403, status(403, "Forbidden", "configmaps is forbidden"));
      },
    );
    await assert.rejects(collections.read(SPEC), /403 Forbidden/);
    assert.equal(collections.states[0]?.synced, false);
  });

  it("lists again after a forbidden watch (RBAC without watch), and keeps failing honestly", async () => {
    const { collections, lists, watches } = await fixture((_request, response) => {
      json(response, 403, status(403, "Forbidden", "cannot watch configmaps"));
    });
    await collections.read(SPEC);
    await eventually(() => collections.states[0]?.synced === false, "the collection is unsynced");
    assert.equal(watches().length, 1, "a 403 is not retried");
    await collections.read(SPEC);
    assert.equal(lists().length, 2);
  });

  it("retries a watch refused with 429 or 503 on open, from the same version, staying synced", async () => {
    const { collections, watches } = await fixture((_request, response, index) => {
      if (index === 0) json(response, 429, status(429, "TooManyRequests"), { "Retry-After": "1" });
      else if (index === 1) json(response, 503, status(503, "ServiceUnavailable"));
      else openWatch(response);
    });
    await collections.read(SPEC);
    await eventually(() => watches().length === 3, "the third watch opened", 15_000);
    const [first, second] = watches();
    assert.ok(first && second);
    assert.ok(second.at - first.at >= 1000, "waited for the Retry-After");
    assert.deepEqual(
      watches().map((request) => request.url.searchParams.get("resourceVersion")),
      ["10", "10", "10"],
    );
    assert.equal(collections.listCount, 1);
    assert.equal(collections.states[0]?.synced, true);
  });

  it("gives a watch that keeps failing up after the retry policy, unsynced", async () => {
    const { collections, watches } = await fixture((_request, response) => {
      json(response, 500, status(500, "InternalError"));
    });
    await collections.read(SPEC);
    await eventually(() => collections.states[0]?.synced === false, "the collection is unsynced");
    assert.equal(watches().length, FAST_RETRY.maxRetries + 1);
  });
});

describe("Collections: a watch closed at once, again and again", () => {
  it("backs off as client-go's reflector does, then gives up, unsynced", async () => {
    const { collections, watches } = await fixture((_request, response) => {
      openWatch(response);
      response.end(); // a proxy closing every stream at once
    });
    await collections.read(SPEC);
    await eventually(() => collections.states[0]?.synced === false, "the collection is unsynced");
    assert.equal(watches().length, FAST_RETRY.maxRetries + 1);
  });
});

describe("Collections: a dead watch is not trusted", () => {
  it("a silent watch (no event, no bookmark, no byte) is closed, and the next read lists again", async () => {
    let closed = 0;
    const { collections, lists } = await fixture(
      (_request, response) => {
        openWatch(response); // then silence, as through a black hole
        response.on("close", () => closed++);
      },
      { staleAfterMs: 400 },
    );
    await collections.read(SPEC);
    const heard = collections.states[0]?.lastHeardAt;
    assert.ok(heard !== undefined);
    await eventually(() => closed === 1, "the client closed the silent watch");
    assert.equal(collections.states[0]?.synced, false);
    await collections.read(SPEC);
    assert.equal(lists().length, 2, "listed again instead of trusting the silent copy");
  });

  it("bookmarks keep a quiet watch alive: no list again", async () => {
    const timers: NodeJS.Timeout[] = [];
    const { collections, lists } = await fixture(
      (_request, response) => {
        const send = openWatch(response);
        let version = 20;
        timers.push(
          setInterval(() => {
            send({ type: "BOOKMARK", object: { metadata: { resourceVersion: String(version++) } } });
          }, 100),
        );
      },
      { staleAfterMs: 400 },
    );
    try {
      await collections.read(SPEC);
      await sleep(1200);
      assert.equal(collections.states[0]?.synced, true);
      await collections.read(SPEC);
      assert.equal(lists().length, 1);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it("a quiet watch the server ends and resumes, with no bookmark at all, stays trusted", async () => {
    const { collections, lists, watches } = await fixture(
      (_request, response) => {
        openWatch(response);
        setTimeout(() => response.end(), 1100); // the watch's timeoutSeconds; no bookmark before
      },
      { staleAfterMs: 1500 },
    );
    await collections.read(SPEC);
    await eventually(() => watches().length >= 4, "three watches ended and were resumed");
    assert.equal(collections.states[0]?.synced, true);
    await collections.read(SPEC);
    assert.equal(lists().length, 1, "never listed again");
  });

  it("asks the server to end each watch well within the bound, so a live one is always heard in time", async () => {
    const { collections, watches } = await fixture((_request, response) => {
      openWatch(response);
    });
    await collections.read(SPEC);
    await eventually(() => watches().length === 1, "the watch opened");
    const timeoutSeconds = Number(watches()[0]?.url.searchParams.get("timeoutSeconds"));
    // Up to 24 s for the end to travel, however late the bookmarks (the first can take 120 s).
    assert.ok(
      timeoutSeconds * 1000 + 24_000 <= DEFAULT_STALE_AFTER_MS,
      `timeoutSeconds=${String(timeoutSeconds)}`,
    );
  });

  it("a read past the bound lists again", async () => {
    // The watch hears bytes only at open; the read comes past the bound.
    const { collections, lists } = await fixture(
      (_request, response) => {
        openWatch(response);
      },
      { staleAfterMs: 300 },
    );
    await collections.read(SPEC);
    await sleep(350);
    await collections.read(SPEC);
    assert.equal(lists().length, 2);
  });
});
