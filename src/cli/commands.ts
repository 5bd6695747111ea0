/** The commands: wires config, logging, the Kubernetes client, scans and outputs. */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { ConfigError, resolveConfig, type Config } from "../config/config.ts";
import { KubeClient } from "../kube/client.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { toScanJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { RevisionReader } from "../read/release-storage.ts";
import { Collections } from "../read/collections.ts";
import { Discovery } from "../read/discovery.ts";
import { DriftCache } from "../scan/drift-cache.ts";
import { DriftMemory } from "../scan/drift-memory.ts";
import { ScanLoop } from "../scan/loop.ts";
import { scan } from "../scan/scanner.ts";
import { snapshotNeedsAttention } from "../analysis/attention.ts";
import { createApp } from "../server/app.ts";
import { SnapshotStore } from "../server/store.ts";
import { loadWebConfig } from "../server/web-config.ts";
import { NAME, VERSION } from "../version.ts";
import { parseCommandLine, usage, UsageError } from "./args.ts";
import { DEFAULT_DECODE_LIMITS } from "../helm/decode.ts";

export const EXIT = { ok: 0, attention: 1, error: 2 } as const;

/** `watch`: a long-running server keeps what it read current with watches; a one-shot scan lists. */
async function scanner(config: Config, logger: Logger, metrics: SelfMetrics, watch: boolean) {
  const client = await KubeClient.connect(
    {
      ...(config.kubeconfig && { kubeconfig: config.kubeconfig }),
      ...(config.context && { context: config.context }),
    },
    metrics,
  );
  const reader = new RevisionReader(client, {
    ...DEFAULT_DECODE_LIMITS,
    maxDecodedBytes: config.maxDecodedBytes,
  });
  const discovery = new Discovery(client);
  const collections = new Collections(client, { watch, logger });
  const driftCache = new DriftCache();
  const driftMemory = new DriftMemory();
  const scope = { include: config.namespaces, exclude: config.excludeNamespaces };
  logger.info(
    { server: client.serverUrl, namespaces: scope.include, excludeNamespaces: scope.exclude },
    "connected",
  );
  return {
    close: () => {
      collections.close();
      client.close();
    },
    run: (signal: AbortSignal) =>
      scan({
        client,
        collections,
        driftCache,
        reader,
        discovery,
        scope,
        concurrency: config.scanConcurrency,
        driftOptions: config.drift,
        driftMemory,
        terminatingAfterMs: config.terminatingAfterMs,
        logger,
        signal,
      }),
  };
}

async function serve(config: Config, logger: Logger): Promise<void> {
  const metrics = new SelfMetrics();
  const { close, run } = await scanner(config, logger, metrics, true);
  const store = new SnapshotStore();
  const web = config.webConfigFile ? loadWebConfig(config.webConfigFile) : undefined;
  const app = createApp({
    store,
    registry: metrics.registry,
    telemetryPath: config.telemetryPath,
    ...(web && { users: web.users, headers: web.headers }),
  });
  const server = web?.tls ? https.createServer(web.tls, app) : http.createServer(app);
  // No host: Node listens on :: when the machine has IPv6, else on 0.0.0.0.
  server.listen(config.listenPort, config.listenHost);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  logger.info(
    { address: `${address.address}:${String(address.port)}`, version: VERSION },
    `${NAME} listening`,
  );

  const loop = new ScanLoop({
    scan: run,
    publish: (snapshot) => store.publish(snapshot),
    schedule: config.schedule,
    timeoutMs: config.scanTimeoutMs,
    logger,
    metrics,
  });
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, "shutting down");
    void (async () => {
      await loop.stop();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      server.closeAllConnections();
      close();
      logger.info("stopped");
      process.exit(EXIT.ok);
    })();
  };
  process.on("SIGTERM", () => {
    shutdown("SIGTERM");
  });
  process.on("SIGINT", () => {
    shutdown("SIGINT");
  });
  await loop.start();
}

async function scanOnce(config: Config, logger: Logger, diff: boolean): Promise<number> {
  const metrics = new SelfMetrics({ processMetrics: false });
  const { close, run } = await scanner(config, logger, metrics, false);
  try {
    const snapshot = await run(AbortSignal.timeout(config.scanTimeoutMs));
    process.stdout.write(
      config.output === "json"
        ? `${JSON.stringify(toScanJson(snapshot), null, 2)}\n`
        : renderTable(snapshot, { diff }),
    );
    if (!snapshot.success) return EXIT.error;
    return snapshotNeedsAttention(snapshot) ? EXIT.attention : EXIT.ok;
  } finally {
    close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${NAME}: ${error.message}\n\n${usage()}`);
    return EXIT.error;
  }
  if (args.help) {
    process.stdout.write(usage());
    return EXIT.ok;
  }
  if (args.version) {
    process.stdout.write(`${NAME} ${VERSION}\n`);
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = resolveConfig({
      flags: args.flags,
      env: process.env,
      ...(args.configFile && { configFile: args.configFile }),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${NAME}: ${error.message}\n`);
    return EXIT.error;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  try {
    if (args.command === "scan") return await scanOnce(config, logger, args.diff);
    await serve(config, logger);
    return EXIT.ok;
  } catch (error) {
    logger.error({ err: error instanceof Error ? error.message : String(error) }, "fatal error");
    return EXIT.error;
  }
}
