/** pino JSON logs (the default) or logfmt, to stderr so `scan` output stays clean on stdout. */
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly format: "json" | "logfmt";
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LogOptions): Logger {
  const out = options.destination ?? process.stderr;
  const destination = options.format === "json" ? out : logfmtStream(out);
  return pino(
    {
      level: options.level,
      base: { service: "helm-drift-exporter" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Re-renders pino's JSON lines as logfmt (`ts=... level=info msg="..." key=value`). */
function logfmtStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        out.write(`${toLogfmt(JSON.parse(line) as Record<string, unknown>)}\n`);
      }
      callback();
    },
  });
}

export function toLogfmt(entry: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = entry;
  const fields: [string, unknown][] = [["ts", time], ["level", level], ["msg", msg], ...Object.entries(rest)];
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return `${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
    })
    .join(" ");
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
