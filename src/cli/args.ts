/** Command-line parsing: `helm-drift-exporter [serve|scan] [--flag=value ...]`. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { envName, OPTIONS } from "../config/options.ts";
import { errorMessage } from "../util/errors.ts";

export type Command = "serve" | "scan";

export interface ParsedArgs {
  readonly command: Command;
  readonly flags: Readonly<Partial<Record<string, string>>>;
  readonly configFile?: string;
  readonly help: boolean;
  readonly version: boolean;
  /** `scan --diff`: print declared against live values of drifted objects. */
  readonly diff: boolean;
}

export class UsageError extends Error {}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const options: ParseArgsOptionsConfig = {
    ...Object.fromEntries(OPTIONS.map((spec) => [spec.flag, { type: "string" as const }])),
    "config.file": { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
    diff: { type: "boolean" },
  };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const [command = "serve", ...extra] = parsed.positionals;
  if (command !== "serve" && command !== "scan")
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  const flags: Record<string, string> = {};
  let configFile: string | undefined;
  let help = false;
  let version = false;
  let diff = false;
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === "help") help = value === true;
    else if (name === "version") version = value === true;
    else if (name === "diff") diff = value === true;
    else if (name === "config.file" && typeof value === "string") configFile = value;
    else if (typeof value === "string") flags[name] = value;
  }
  return { command, flags, ...(configFile && { configFile }), help, version, diff };
}

export function usage(): string {
  const width = Math.max(...OPTIONS.map((spec) => spec.flag.length)) + 4;
  const line = (flag: string, text: string) => `  --${flag.padEnd(width)}${text}`;
  return [
    "Usage: helm-drift-exporter [serve|scan] [flags]",
    "",
    "Commands:",
    "  serve   run the exporter: scan on a schedule, serve metrics and the JSON API (default)",
    "  scan    scan once and print the result; exit 0 when all is well, 1 when something",
    "          needs attention, 2 on error",
    "",
    "Flags (each also read from the environment variable shown, or from --config.file):",
    line("config.file", "YAML configuration file"),
    ...OPTIONS.map((spec) => {
      const suffix = [
        "choices" in spec ? `one of ${spec.choices.join(", ")}` : "",
        "default" in spec ? `default ${JSON.stringify(spec.default)}` : "",
        "command" in spec ? `${spec.command} only` : "",
        envName(spec.flag),
      ].filter(Boolean);
      return line(spec.flag, `${spec.description} (${suffix.join("; ")})`);
    }),
    line(
      "diff",
      "scan only: print declared (-) against live (+) values of drifted objects; Secret values redacted",
    ),
    line("help", "show this help"),
    line("version", "print the version"),
    "",
  ].join("\n");
}
