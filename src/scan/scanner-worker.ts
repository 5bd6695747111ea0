/**
 * The scanner thread of `serve` (started by ./scanner-thread.ts): connects, scans on the
 * schedule and prepares each scan's publication, in an isolate of its own, so neither the
 * scan's work nor the garbage collection of its heap delays a scrape on the serving thread.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "../config/config.ts";
import { createLogger } from "../log/logger.ts";
import { MetricsRecorder } from "../metrics/relay.ts";
import { preparePublication, transferList, type Published } from "../server/publication.ts";
import { connectScanner } from "./connect.ts";
import { ScanLoop } from "./loop.ts";
import { SCANNER_NICENESS, type FromScanner } from "./scanner-thread.ts";

/** Self metrics reach the serving thread this late at most; the heap at least this often. */
const FLUSH_MS = 250;
const HEAP_MS = 5_000;

if (!parentPort) throw new Error("scanner-worker runs as a worker thread");
const port = parentPort;
const config = workerData as Config;
const logger = createLogger({ level: config.logLevel, format: config.logFormat });
const recorder = new MetricsRecorder();
let unsent: Published | undefined;
let lastFlush = 0;

const post = (message: FromScanner, transfer: ArrayBuffer[] = []) => {
  port.postMessage(message, transfer);
};

/**
 * Sends the metrics recorded so far and, after a scan, its publication in the same message:
 * the serving thread applies both at once, so no scrape sees the results of a scan without
 * its count in helm_drift_exporter_scans_total, or the other way round.
 */
function flush(): void {
  const published = unsent;
  unsent = undefined;
  lastFlush = Date.now();
  post(
    { type: "update", metrics: recorder.take(), ...(published && { published }) },
    published ? transferList(published) : [],
  );
}

/**
 * Scans are batch work; scrapes wait on the serving thread. Where CPUs are few (or busy), this
 * thread gives way to that one. Linux only: a thread's own id comes from /proc/thread-self.
 */
function giveWayToServing(): void {
  try {
    setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), SCANNER_NICENESS);
  } catch (error) {
    logger.debug(
      { err: error instanceof Error ? error.message : String(error) },
      "scanner thread keeps its priority",
    );
  }
}
giveWayToServing();

// A failure to connect ends this thread with the error, which fails `serve` before it listens.
const scanner = await connectScanner(config, logger, recorder, true);

const loop = new ScanLoop({
  scan: scanner.run,
  publish: async (snapshot) => {
    unsent = await preparePublication(snapshot);
  },
  schedule: config.schedule,
  timeoutMs: config.scanTimeoutMs,
  logger,
  metrics: {
    scanFinished: (result) => {
      recorder.scanFinished(result);
      flush();
    },
  },
});
const timer = setInterval(() => {
  if (!recorder.empty || Date.now() - lastFlush >= HEAP_MS) flush();
}, FLUSH_MS);

// The only message is "stop" (ToScanner); once it is handled nothing is left to keep this thread alive.
port.once("message", () => {
  void (async () => {
    await loop.stop();
    clearInterval(timer);
    scanner.close();
    flush();
  })();
});

flush();
post({ type: "ready" });
await loop.start();
