/**
 * Runs the real exporter (`serve`, as deployed) against the bench's cluster and reads
 * what it costs from the outside: scan wall time and API requests and bytes per scan
 * from its own /metrics, its peak RSS from /proc, and /metrics latency under concurrent
 * scrapers. Nothing is measured inside the exporter's process but what it exports.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { parseExposition, type Sample } from "../test/support/metrics-text.ts";
import { freePort } from "../controlplane/ports.ts";
import type { ScrapeClientResult } from "./scrape-client.ts";

const SCRAPE_CLIENT = fileURLToPath(new URL("./scrape-client.ts", import.meta.url));
const execFileAsync = promisify(execFile);

const sum = (
  samples: readonly Sample[],
  name: string,
  filter: (labels: Sample["labels"]) => boolean = () => true,
) => samples.filter((s) => s.name === name && filter(s.labels)).reduce((total, s) => total + s.value, 0);

/** The exporter's API counters at one moment, by "verb resource". */
export interface ApiCounters {
  readonly requests: Readonly<Record<string, number>>;
  readonly bytes: number;
  readonly watches: number;
}

function apiCounters(samples: readonly Sample[]): ApiCounters {
  const requests: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== "helm_drift_exporter_kube_api_requests_total") continue;
    requests[`${s.labels.verb ?? ""} ${s.labels.resource ?? ""}`] = s.value;
  }
  return {
    requests,
    bytes: sum(samples, "helm_drift_exporter_kube_api_response_bytes_total"),
    watches: sum(samples, "helm_drift_exporter_kube_api_watches"),
  };
}

/** Requests made between two readings, by "verb resource" (zero entries left out). */
export function requestsBetween(before: ApiCounters, after: ApiCounters): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [key, value] of Object.entries(after.requests)) {
    const made = value - (before.requests[key] ?? 0);
    if (made > 0) delta[key] = made;
  }
  return delta;
}

export interface ScanReading {
  readonly seconds: number;
  readonly success: boolean;
  /** Requests finished while this scan ran (and since the previous one): list, get, and watches that ended. */
  readonly requests: Readonly<Record<string, number>>;
  readonly requestCount: number;
  readonly bytes: number;
  readonly openWatches: number;
  readonly rssBytes: number;
}

export interface ScrapeLoad {
  /** Scrapers, each on its own schedule. */
  readonly concurrency: number;
  /** Scrapes per second of each scraper. */
  readonly ratePerSecond: number;
  /** How long: long enough that scans run (and finish) while scrapes arrive. */
  readonly seconds: number;
}

export interface ScrapeResult {
  readonly scrapes: number;
  readonly concurrency: number;
  readonly ratePerSecond: number;
  readonly seconds: number;
  /** Scans that finished while the scrapes ran: the latencies include scrapes made during them. */
  readonly scansDuring: number;
  readonly bodyBytes: number;
  /** Bytes on the wire: gzip, as Prometheus asks for it. */
  readonly wireBytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The scrape client's own event-loop delay p99 (ms): a stall of the client, counted in its latencies. */
  readonly clientDelayP99Ms: number;
}

export interface RunningExporter {
  readonly pid: number;
  readonly url: string;
  /** Waits for the next scan to be published and reads what it cost. */
  nextScan(timeoutMs: number): Promise<ScanReading>;
  scrape(load: ScrapeLoad): Promise<ScrapeResult>;
  get(pathname: string): Promise<string>;
  /** Peak memory so far as the container is charged for it: both processes' anonymous memory, shared file pages once. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

export interface ExporterOptions {
  /** Checkout whose compiled dist/cli/main.js runs (as the image does): this one, or another commit's. */
  readonly exporterDir: string;
  readonly kubeconfig: string;
  readonly logFile: string;
  /** Seconds between scheduled scans (6-field cron). */
  readonly intervalSeconds: number;
}

/** The node flags the container image runs the exporter with (its ENTRYPOINT), so the bench measures what ships. */
export function imageNodeFlags(dockerfile: string): string[] {
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(dockerfile, "utf8"))?.[1];
  if (!entrypoint) throw new Error(`${dockerfile} has no exec-form ENTRYPOINT`);
  const argv = JSON.parse(entrypoint) as string[];
  return argv.slice(1).filter((arg) => arg.startsWith("--"));
}

export async function startExporter(options: ExporterOptions): Promise<RunningExporter> {
  const port = await freePort();
  const url = `http://127.0.0.1:${String(port)}`;
  const log = createWriteStream(options.logFile);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...imageNodeFlags(path.join(options.exporterDir, "Dockerfile")),
      path.join(options.exporterDir, "dist/cli/main.js"),
      "serve",
      "--kubeconfig",
      options.kubeconfig,
      "--web.listen-address",
      `127.0.0.1:${String(port)}`,
      "--schedule",
      `*/${String(options.intervalSeconds)} * * * * *`,
      "--scan.timeout",
      "10m",
      "--log.level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the exporter");
  const exited = new Promise<void>((resolve) =>
    child.on("close", () => {
      resolve();
    }),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  /** GET a path, its body as text; with `gzip`, asks for gzip as Prometheus does and decompresses it. */
  const fetchBody = (pathname: string, gzip: boolean) =>
    new Promise<string>((resolve, reject) => {
      const headers = { "Accept-Encoding": gzip ? "gzip" : "identity" };
      http
        .get(`${url}${pathname}`, { agent, headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const wire = Buffer.concat(chunks);
            if ((response.statusCode ?? 0) >= 400) {
              reject(new Error(`${pathname}: ${String(response.statusCode)}`));
              return;
            }
            const zipped = response.headers["content-encoding"] === "gzip";
            resolve((zipped ? gunzipSync(wire) : wire).toString("utf8"));
          });
          response.on("error", reject);
        })
        .on("error", reject);
    });
  const get = (pathname: string) => fetchBody(pathname, false);

  // The exporter serves from one process and scans in a child: the container holds both. What
  // it is charged is their anonymous memory, and the node binary's pages once (both map it):
  // adding their RSS would count those twice. Sampled, since no counter keeps that peak.
  const rss = () => containerMemory([pid, ...childPids(pid)]);
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rss());
    } catch {
      // A process between start and exit: the next sample will do.
    }
  }, 250);

  const read = async () => parseExposition(await get("/metrics"));
  const scansDone = (samples: readonly Sample[]) =>
    sum(samples, "helm_drift_exporter_scans_total", (l) => l.result !== "skipped");

  let lastCounters: ApiCounters = { requests: {}, bytes: 0, watches: 0 };
  let seenScans = 0;

  const nextScan = async (timeoutMs: number): Promise<ScanReading> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`exporter exited (${String(child.exitCode)}); see ${options.logFile}`);
      const samples = await read().catch(() => undefined);
      if (samples && scansDone(samples) > seenScans) {
        seenScans = scansDone(samples);
        const counters = apiCounters(samples);
        const requests = requestsBetween(lastCounters, counters);
        const reading: ScanReading = {
          seconds: sum(samples, "helm_drift_exporter_scan_duration_seconds"),
          success: sum(samples, "helm_drift_exporter_last_scan_success") === 1,
          requests,
          requestCount: Object.values(requests).reduce((a, b) => a + b, 0),
          bytes: counters.bytes - lastCounters.bytes,
          openWatches: counters.watches,
          rssBytes: rss(),
        };
        lastCounters = counters;
        return reading;
      }
      if (Date.now() > deadline) throw new Error("no scan finished in time");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /**
   * Scrapers on a fixed schedule each, as Prometheus scrapes, for a window that spans scans,
   * run in a process of their own (bench/scrape-client.ts) so that this process's garbage
   * collection is not counted as the exporter's latency.
   */
  const scrape = async (load: ScrapeLoad): Promise<ScrapeResult> => {
    const bodyBytes = (await fetchBody("/metrics", true)).length;
    const scansBefore = scansDone(await read());
    const client = await execFileAsync(
      process.execPath,
      [SCRAPE_CLIENT, `${url}/metrics`, ...[load.concurrency, load.ratePerSecond, load.seconds].map(String)],
      { maxBuffer: 64 * 2 ** 20 },
    );
    const result = JSON.parse(client.stdout) as ScrapeClientResult;
    const scansDuring = scansDone(await read()) - scansBefore;
    const latencies = result.latenciesMs;
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return {
      scrapes: latencies.length,
      concurrency: load.concurrency,
      ratePerSecond: load.ratePerSecond,
      seconds: load.seconds,
      scansDuring,
      bodyBytes,
      wireBytes: result.wireBytes,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: latencies.at(-1) ?? 0,
      clientDelayP99Ms: result.clientDelayP99Ms,
    };
  };

  return {
    pid,
    url,
    nextScan,
    scrape,
    get,
    peakRssBytes: () => Math.max(peak, rss()),
    stop: async () => {
      clearInterval(sampler);
      agent.destroy();
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

/** The processes a process started, from /proc (its threads' children lists). */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${String(pid)}/task`).flatMap((task) =>
      readFileSync(`/proc/${String(pid)}/task/${task}/children`, "utf8")
        .split(" ")
        .filter((child) => child.trim() !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** Anonymous memory of the processes, and the largest one's file-backed pages (the shared node binary) once. */
function containerMemory(pids: readonly number[]): number {
  let anon = 0;
  let file = 0;
  for (const process of pids) {
    const status = readFileSync(`/proc/${String(process)}/status`, "utf8");
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    anon += kb("RssAnon");
    file = Math.max(file, kb("RssFile"));
  }
  return anon + file;
}
