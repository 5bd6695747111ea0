/** The commands: wires config, logging, the Kubernetes client, scans and outputs. */
import type { AddressInfo } from "node:net";
import { ConfigError, resolveConfig, type Config } from "../config/config.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { renderDiagnosis, renderNoSuchRelease, toDiagnosisJson } from "../output/diagnose.ts";
import { toScanJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { connectScanner } from "../scan/connect.ts";
import { startScanner } from "../serve/scanner-process.ts";
import { accessFromConfig } from "../server/access.ts";
import { createApp } from "../server/app.ts";
import { BcryptThread } from "../server/bcrypt-thread.ts";
import { PublicationStore } from "../server/store.ts";
import { WebConfigSource } from "../server/web-config-source.ts";
import { createWebServer } from "../server/web-server.ts";
import { NAME, VERSION } from "../util/version.ts";
import { CONFIG_FILE_ENV, parseCommandLine, usage, UsageError } from "./args.ts";
import { errorMessage } from "../util/errors.ts";

export const EXIT = { ok: 0, attention: 1, error: 2 } as const;

async function serve(config: Config, logger: Logger): Promise<void> {
  const metrics = new SelfMetrics();
  const store = new PublicationStore();
  // Read first: a bad file is a configuration error (exit 2) before anything starts.
  const webConfig = config.webConfigFile ? new WebConfigSource(config.webConfigFile, logger) : undefined;
  const scanner = await startScanner({ config, store, metrics, logger });
  const bcrypt = new BcryptThread();
  const app = createApp({
    store,
    registry: metrics.registry,
    telemetryPath: config.telemetryPath,
    ...(webConfig && {
      access: accessFromConfig(webConfig, (password, hash) => bcrypt.compare(password, hash)),
    }),
    onServerError: (error) => {
      logger.error({ err: errorMessage(error) }, "request failed");
    },
  });
  const web = createWebServer(app, webConfig, logger);
  const server = web.server;
  // No host: Node listens on :: when the machine has IPv6, else on 0.0.0.0.
  server.listen(config.listenPort, config.listenHost);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
  } catch (error) {
    await scanner.stop();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const tls = webConfig?.initial.tls;
  logger.info(
    {
      address: `${address.address}:${String(address.port)}`,
      version: VERSION,
      tls: Boolean(tls),
      http2: Boolean(tls) && webConfig?.initial.http2 === true,
    },
    `${NAME} listening`,
  );

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, "shutting down");
    void (async () => {
      await scanner.stop();
      await web.close();
      await bcrypt.close();
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
}

async function scanOnce(config: Config, logger: Logger, diff: boolean): Promise<number> {
  const metrics = new SelfMetrics({ processMetrics: false });
  const { close, run, reachable } = await connectScanner(config, logger, metrics, false);
  try {
    // One scan of a server that does not answer would only wait out its retries and say less.
    if (!reachable) {
      process.stderr.write(`${NAME}: the Kubernetes API server does not answer; nothing was scanned\n`);
      return EXIT.error;
    }
    const snapshot = await run(AbortSignal.timeout(config.scanTimeoutMs));
    process.stdout.write(
      config.output === "json"
        ? `${JSON.stringify(toScanJson(snapshot), null, 2)}\n`
        : renderTable(snapshot, { diff }),
    );
    if (!snapshot.success) return EXIT.error;
    return snapshot.needsAttention ? EXIT.attention : EXIT.ok;
  } finally {
    close();
  }
}

/**
 * `diagnose <release> -n <namespace>`: a scan of that release alone, printed for a person.
 * Exit 0 healthy, 1 needs attention, 2 on error: no such release, or what it needs could not all
 * be read while nothing found needs attention (then healthy is unknown).
 */
async function diagnoseOnce(
  config: Config,
  logger: Logger,
  target: { release: string; revision?: number },
): Promise<number> {
  const metrics = new SelfMetrics({ processMetrics: false });
  const namespace = config.namespaces[0] ?? "";
  const focus = {
    release: target.release,
    ...(target.revision !== undefined && { rollbackTarget: target.revision }),
  };
  const { close, run, reachable, releasesIn } = await connectScanner(config, logger, metrics, false, focus);
  try {
    if (!reachable) {
      process.stderr.write(`${NAME}: the Kubernetes API server does not answer; nothing was read\n`);
      return EXIT.error;
    }
    const signal = AbortSignal.timeout(config.scanTimeoutMs);
    const snapshot = await run(signal);
    const report = snapshot.releases.find(
      (candidate) => candidate.namespace === namespace && candidate.release === target.release,
    );
    if (!report) {
      if (snapshot.outcome === "failed") {
        const errors = snapshot.collectors.flatMap((collector) => collector.errors);
        process.stderr.write(
          `${NAME}: release storage in ${namespace} could not be read: ${errors.join("; ")}\n`,
        );
        return EXIT.error;
      }
      process.stderr.write(
        renderNoSuchRelease(target.release, namespace, await releasesIn(namespace, signal)),
      );
      return EXIT.error;
    }
    process.stdout.write(
      config.output === "json"
        ? `${JSON.stringify(toDiagnosisJson(snapshot, report), null, 2)}\n`
        : renderDiagnosis(snapshot, report, { colour: colourWanted() }),
    );
    if (report.attention.length > 0) return EXIT.attention;
    return snapshot.success ? EXIT.ok : EXIT.error;
  } finally {
    close();
  }
}

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org: present and not empty). */
function colourWanted(): boolean {
  return process.stdout.isTTY && !process.env.NO_COLOR;
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
  // From the environment too, so that a command run beside the exporter (`kubectl exec ...
  // helm-drift-exporter diagnose`) reads the configuration the chart gave the exporter.
  const fromEnv = process.env[CONFIG_FILE_ENV];
  const configFile = args.configFile ?? (fromEnv === "" ? undefined : fromEnv);
  try {
    config = resolveConfig({
      flags: args.flags,
      env: process.env,
      ...(configFile && { configFile }),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${NAME}: ${error.message}\n`);
    return EXIT.error;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  try {
    if (args.command === "scan") return await scanOnce(config, logger, args.diff);
    if (args.diagnose) return await diagnoseOnce(config, logger, args.diagnose);
    await serve(config, logger);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ConfigError) {
      // A bad --web.config.file, found as serve starts: plain text like the other config errors.
      process.stderr.write(`${NAME}: ${error.message}\n`);
      return EXIT.error;
    }
    logger.error({ err: errorMessage(error) }, "fatal error");
    return EXIT.error;
  }
}
