/**
 * The scanner process of `serve` (started by ./scanner-process.ts): connects, scans on the
 * schedule and prepares each scan's publication, in a process of its own, so neither a scan's
 * work nor its garbage collection delays a scrape, and a scan that exhausts its heap (V8
 * aborts the whole process for that) takes down this process only, never the one serving.
 */
import type { Config } from "../config/config.ts";
import { createLogger } from "../log/logger.ts";
import { MetricsRecorder } from "../metrics/recorder.ts";
import type { Published } from "../server/published.ts";
import { preparePublication } from "./publication.ts";
import { excludedMetrics, unmatchedPatterns } from "../metrics/metric-filter.ts";
import { connectScanner } from "../scan/connect.ts";
import { ScanLoop } from "./loop.ts";
import type { FromScanner, ToScanner } from "./scanner-process.ts";
import { errorMessage } from "../util/errors.ts";

/** Self metrics reach the serving process this late at most; the heap at least this often. */
const FLUSH_MS = 250;
const HEAP_MS = 5_000;

const send = process.send?.bind(process);
if (!send) throw new Error("scanner-child runs as a child process of serve, with an IPC channel");
const post = (message: FromScanner) => {
  send(message);
};

// The serving process gone (killed, crashed): nothing would read what this one scans.
process.on("disconnect", () => process.exit(0));

const config = await new Promise<Config>((resolve) => {
  process.once("message", (message: ToScanner) => {
    if (message.type === "start") resolve(message.config);
  });
});
const logger = createLogger({ level: config.logLevel, format: config.logFormat });
// Decided once: the lists are over the catalogue's metric names, which do not change.
const hiddenMetrics = excludedMetrics(config.metricFilter);
for (const pattern of unmatchedPatterns(config.metricFilter))
  logger.warn({ pattern }, "metric pattern matches no helm_release_* or helm_orphaned_* metric");
const recorder = new MetricsRecorder();
let unsent: Published | undefined;
let lastFlush = 0;

/**
 * Sends the metrics recorded so far and, after a scan, its publication in the same message:
 * the serving process applies both at once, so no scrape sees the results of a scan without
 * its count in helm_drift_exporter_scans_total, or the other way round.
 */
function flush(): void {
  const published = unsent;
  unsent = undefined;
  lastFlush = Date.now();
  post({ type: "update", metrics: recorder.take(), ...(published && { published }) });
}

// A failure to connect ends this process with the error, which fails `serve` before it listens.
const scanner = await connectScanner(config, logger, recorder, true).catch((error: unknown) => {
  post({ type: "failed", message: errorMessage(error) });
  process.exit(1);
});

const loop = new ScanLoop({
  scan: scanner.run,
  publish: async (snapshot) => {
    unsent = await preparePublication(snapshot, hiddenMetrics);
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

process.on("message", (message: ToScanner) => {
  if (message.type !== "stop") return;
  void (async () => {
    await loop.stop();
    clearInterval(timer);
    scanner.close();
    flush();
    process.disconnect();
  })();
});

flush();
post({ type: "ready" });
await loop.start();
