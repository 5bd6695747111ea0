/**
 * The supervisor's fault channel: a loopback HTTP endpoint through which a test stops, starts,
 * restarts, pauses and resumes etcd or kube-apiserver without the supervisor taking it for a
 * crash. Only a control plane started with `faults: true` has one, so the shared control plane
 * of a test run cannot be disturbed by accident.
 *
 *   POST /<component>/<action>   Authorization: Bearer <token>   body: FaultRequest (JSON)
 *   200 FaultResult | 4xx/5xx { error }
 *
 * Requests run one at a time, in the order they arrive.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  COMPONENTS,
  type Component,
  type ComponentName,
  type ComponentState,
  type StopSignal,
} from "./component.ts";

export const FAULT_ACTIONS = ["stop", "start", "restart", "pause", "resume"] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export interface FaultRequest {
  /** For stop and restart: SIGTERM (graceful, the default) or SIGKILL (a crash). */
  readonly signal?: StopSignal;
  /** For start and restart: wait until the component is ready again (the default), or return once it runs. */
  readonly waitReady?: boolean;
}

export interface FaultResult {
  readonly component: ComponentName;
  readonly action: FaultAction;
  readonly state: ComponentState;
  readonly pid: number | null;
  /** Time to stop the process (stop, restart). */
  readonly stopMs?: number;
  /** Time from starting the process until it was ready (start, restart with waitReady). */
  readonly readyMs?: number;
}

export interface FaultChannel {
  readonly url: string;
  readonly token: string;
  close(): void;
}

export interface FaultChannelOptions {
  readonly components: ReadonlyMap<ComponentName, Component>;
  /** Resolves once the component answers as ready; rejects if it does not in time. */
  readonly waitReady: (component: Component) => Promise<void>;
  readonly log: (message: string) => void;
}

export async function serveFaultChannel(options: FaultChannelOptions): Promise<FaultChannel> {
  const token = randomBytes(24).toString("hex");
  let queue: Promise<unknown> = Promise.resolve();
  const server = http.createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (!authorized(request.headers.authorization, token)) {
      reply(401, { error: "unauthorized" });
      return;
    }
    const [, name, path] = (request.url ?? "").split("/");
    const component = options.components.get(name as ComponentName);
    const action = FAULT_ACTIONS.find((known) => known === path);
    if (request.method !== "POST" || !component || !action) {
      reply(404, { error: `POST /<${COMPONENTS.join("|")}>/<${FAULT_ACTIONS.join("|")}>` });
      return;
    }
    const body: Buffer[] = [];
    request.on("data", (chunk: Buffer) => body.push(chunk));
    request.on("end", () => {
      const run = async () => {
        const parsed = (body.length > 0 ? JSON.parse(Buffer.concat(body).toString()) : {}) as FaultRequest;
        options.log(`fault: ${component.name} ${action} ${JSON.stringify(parsed)}`);
        return apply(component, action, parsed, options.waitReady);
      };
      const done = queue.then(run);
      queue = done.catch(() => undefined);
      done.then(
        (result) => {
          reply(200, result);
        },
        (error: unknown) => {
          options.log(`fault failed: ${String(error)}`);
          reply(409, { error: error instanceof Error ? error.message : String(error) });
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    token,
    close: () => {
      server.close();
    },
  };
}

function authorized(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function apply(
  component: Component,
  action: FaultAction,
  request: FaultRequest,
  waitReady: (component: Component) => Promise<void>,
): Promise<FaultResult> {
  const timed = async (step: () => Promise<void> | void) => {
    const started = performance.now();
    await step();
    return Math.round(performance.now() - started);
  };
  const start = async () => {
    component.start();
    return request.waitReady === false ? undefined : await timed(() => waitReady(component));
  };
  let stopMs: number | undefined;
  let readyMs: number | undefined;
  switch (action) {
    case "stop":
      stopMs = await timed(() => component.stop(request.signal ?? "SIGTERM"));
      break;
    case "start":
      readyMs = await start();
      break;
    case "restart":
      stopMs = await timed(() => component.stop(request.signal ?? "SIGTERM"));
      readyMs = await start();
      break;
    case "pause":
      component.pause();
      break;
    case "resume":
      component.resume();
      break;
  }
  return {
    component: component.name,
    action,
    state: component.state,
    pid: component.pid ?? null,
    ...(stopMs !== undefined && { stopMs }),
    ...(readyMs !== undefined && { readyMs }),
  };
}
