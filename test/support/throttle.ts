/**
 * Real apiserver throttling with API Priority and Fairness: a PriorityLevelConfiguration of
 * type Limited that rejects (no queue) what exceeds its seats, and a FlowSchema that sends one
 * user's requests there. That user gets the apiserver's own 429 with Retry-After; every other
 * identity is untouched (the admin is in system:masters, which APF exempts).
 *
 * Seats: "one" gives the level no seat (nominalConcurrencyShares 0, nothing to borrow), and
 * the apiserver then runs one request at a time (a request wider than the level still runs
 * when nothing else does: queueset.canAccommodateSeatsLocked); "few" gives it one share of the
 * server's concurrency, 3 seats with the default levels. Either way 429s come only from
 * concurrent requests, and how many it takes depends on the machine: saturate() holds every
 * seat, so that every other request of the user is rejected for as long as a test needs.
 */
import { randomBytes } from "node:crypto";
import type { ClientRequest } from "node:http";
import https from "node:https";
import { FlowcontrolApiserverV1Api } from "@kubernetes/client-node";
import type { ClusterInfo, Identity } from "../../controlplane/cluster-info.ts";
import { apiRequest, asIdentity, type ApiResponse } from "./api-request.ts";
import { clusterInfo, kubeConfig } from "./cluster.ts";
import { pollUntil } from "./poll.ts";

export type ThrottleSeats = "one" | "few";

export interface Throttle {
  /** Name of both the PriorityLevelConfiguration and the FlowSchema. */
  readonly name: string;
  /** Execution seats the apiserver gave the level (apiserver_flowcontrol_nominal_limit_seats). */
  readonly seats: number;
  /** Requests of the user the apiserver runs at once: the seats, and at least one. */
  readonly concurrency: number;
  /**
   * Occupies every seat with requests that do not finish (a create whose body has not all
   * been sent), so that each other request of the user gets 429 at once, until release().
   */
  saturate(): Promise<Saturation>;
  /** Deletes both objects and waits until the user's requests are classified elsewhere. */
  remove(): Promise<void>;
}

export interface Saturation {
  /** Finishes the held requests and waits for their answers. */
  release(): Promise<void>;
}

/** A request path any identity may be sent to; APF classifies (and rejects) before authorization. */
const PROBE_PATH = "/api/v1/namespaces/default";
const PRIORITY_LEVEL_UID_HEADER = "x-kubernetes-pf-prioritylevel-uid";

export async function throttle(
  seats: ThrottleSeats,
  identity?: Identity,
  info: ClusterInfo = clusterInfo(),
): Promise<Throttle> {
  const user = identity ?? info.unprivileged;
  const name = `hde-throttle-${randomBytes(3).toString("hex")}`;
  const flowcontrol = kubeConfig("admin", info).makeApiClient(FlowcontrolApiserverV1Api);
  const level = await flowcontrol.createPriorityLevelConfiguration({
    body: {
      metadata: { name },
      spec: {
        type: "Limited",
        limited: {
          nominalConcurrencyShares: seats === "one" ? 0 : 1,
          lendablePercent: 0,
          borrowingLimitPercent: 0,
          limitResponse: { type: "Reject" },
        },
      },
    },
  });
  await flowcontrol.createFlowSchema({
    body: {
      metadata: { name },
      spec: {
        priorityLevelConfiguration: { name },
        // Before every built-in schema but exempt (1) and probes (2).
        matchingPrecedence: 50,
        distinguisherMethod: { type: "ByUser" },
        rules: [
          {
            subjects: [{ kind: "User", user: { name: user.user } }],
            resourceRules: [
              { verbs: ["*"], apiGroups: ["*"], resources: ["*"], clusterScope: true, namespaces: ["*"] },
            ],
            nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          },
        ],
      },
    },
  });
  const uid = level.metadata?.uid ?? "";
  // The apiserver's APF controller picks new objects up a moment after they are written.
  await pollUntil(`${user.user}'s requests to go to priority level ${name}`, async () => {
    const response = await apiRequest(info, user, PROBE_PATH);
    return response.headers[PRIORITY_LEVEL_UID_HEADER] === uid ? true : undefined;
  });
  const nominalSeats = await pollUntil(`the nominal seats of ${name}`, async () => {
    const metrics = await apiRequest(info, info.admin, "/metrics");
    const line = new RegExp(
      `^apiserver_flowcontrol_nominal_limit_seats\\{priority_level="${name}"\\} (\\d+)`,
      "m",
    );
    const match = line.exec(metrics.body);
    return match ? Number(match[1]) : undefined;
  });
  const concurrency = Math.max(nominalSeats, 1);
  return {
    name,
    seats: nominalSeats,
    concurrency,
    saturate: () => saturate(info, user, concurrency),
    remove: async () => {
      await flowcontrol.deleteFlowSchema({ name });
      await flowcontrol.deletePriorityLevelConfiguration({ name });
      await pollUntil(`${user.user}'s requests to leave priority level ${name}`, async () => {
        const response = await apiRequest(info, user, PROBE_PATH);
        const classified = response.headers[PRIORITY_LEVEL_UID_HEADER];
        return classified !== undefined && classified !== uid ? true : undefined;
      });
    },
  };
}

/**
 * A SelfSubjectAccessReview, which every authenticated user may create: the apiserver gives it
 * a seat, then waits for its body. Sent all but its last byte, it holds the seat.
 */
const HOLD_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const HOLD_BODY = JSON.stringify({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SelfSubjectAccessReview",
  spec: { resourceAttributes: { verb: "get", resource: "pods" } },
});

interface Hold {
  readonly request: ClientRequest;
  /** Settles with the status once answered: 429 if it did not get a seat. */
  readonly answered: Promise<number>;
  status: number | undefined;
}

function hold(info: ClusterInfo, identity: Identity): Hold {
  const request = https.request(new URL(HOLD_PATH, info.server), {
    method: "POST",
    ...asIdentity(info, identity, {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(HOLD_BODY)),
    }),
  });
  const held: Hold = {
    request,
    status: undefined,
    answered: new Promise((resolve) => {
      request.on("response", (response) => {
        response.resume();
        held.status = response.statusCode ?? 0;
        resolve(held.status);
      });
      request.on("error", () => {
        held.status = 0;
        resolve(0);
      });
    }),
  };
  request.write(HOLD_BODY.slice(0, -1));
  return held;
}

async function saturate(info: ClusterInfo, identity: Identity, concurrency: number): Promise<Saturation> {
  let holds = Array.from({ length: concurrency }, () => hold(info, identity));
  let released = false;
  // A function, not the variable: the checks below follow awaits, during which release() runs.
  const releasing = () => released;
  // A hold can lose its seat to a racing request (429) or be answered for another reason:
  // replace it then, until released. (Checked: a saturation holds 80 s, past the apiserver's
  // 60 s request timeout.)
  const keep = async (): Promise<void> => {
    for (;;) {
      const answered = await Promise.race(holds.map((held) => held.answered.then(() => held)));
      if (releasing()) return;
      answered.request.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (releasing()) return;
      holds = holds.map((held) => (held === answered ? hold(info, identity) : held));
    }
  };
  const kept = keep();
  const release = async () => {
    released = true;
    for (const held of holds) held.request.end(HOLD_BODY.slice(-1));
    await Promise.all(holds.map((held) => held.answered));
    await kept;
  };
  try {
    await pollUntil(`${String(concurrency)} held requests to take every seat`, async () => {
      const probe = await apiRequest(info, identity, PROBE_PATH);
      return probe.status === 429 && holds.every((held) => held.status === undefined) ? true : undefined;
    });
  } catch (error) {
    await release();
    throw error;
  }
  return { release };
}

export interface FloodResult {
  /** How many requests got each HTTP status. */
  readonly statuses: Readonly<Record<number, number>>;
  /** Retry-After values seen on 429s. */
  readonly retryAfter: readonly string[];
  /** The body of one 429, if any. */
  readonly rejection?: ApiResponse;
}

/** Sends `total` GETs of `path` as `identity`, `concurrency` at a time on as many connections. */
export async function flood(
  info: ClusterInfo,
  identity: Identity,
  options: { concurrency: number; total: number; path?: string },
): Promise<FloodResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const statuses: Record<number, number> = {};
  const retryAfter: string[] = [];
  let rejection: ApiResponse | undefined;
  let next = 0;
  const worker = async () => {
    while (next < options.total) {
      next++;
      const response = await apiRequest(info, identity, options.path ?? PROBE_PATH, { agent });
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.status === 429) {
        rejection ??= response;
        retryAfter.push(String(response.headers["retry-after"]));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { statuses, retryAfter, ...(rejection && { rejection }) };
}
