/** Command-line parsing: `helm-drift-exporter [serve|scan|diagnose <release>] [--flag=value ...]`. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { envName, OPTIONS } from "../config/options.ts";
import { errorMessage } from "../util/errors.ts";

/** Where --config.file is read from when the flag is not given. */
export const CONFIG_FILE_ENV = "HELM_DRIFT_EXPORTER_CONFIG_FILE";

export type Command = "serve" | "scan" | "diagnose";

/** Short flags as kubectl and helm spell them. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { namespaces: "n", output: "o" };

export interface ParsedArgs {
  readonly command: Command;
  readonly flags: Readonly<Partial<Record<string, string>>>;
  readonly configFile?: string;
  readonly help: boolean;
  readonly version: boolean;
  /** `scan --diff`: print declared against live values of drifted objects. */
  readonly diff: boolean;
  /** `diagnose <release>`: the release, and the revision to check a rollback to (`--revision`). */
  readonly diagnose?: { readonly release: string; readonly revision?: number };
}

export class UsageError extends Error {}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const options: ParseArgsOptionsConfig = {
    ...Object.fromEntries(
      OPTIONS.map((spec) => {
        const short = SHORT_FLAGS[spec.flag];
        return [spec.flag, { type: "string" as const, ...(short && { short }) }];
      }),
    ),
    // diagnose: the one namespace of its release (`-n` names it too).
    namespace: { type: "string" },
    revision: { type: "string" },
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
  if (command !== "serve" && command !== "scan" && command !== "diagnose")
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const diagnose = command === "diagnose" ? diagnoseArgs(extra, parsed.values) : undefined;
  if (!diagnose && extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  if (!diagnose && (parsed.values.namespace !== undefined || parsed.values.revision !== undefined))
    throw new UsageError("--namespace and --revision are flags of diagnose (scan takes --namespaces)");
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
    else if (name === "namespace" || name === "revision")
      continue; // diagnose's, read above
    else if (typeof value === "string") flags[name] = value;
  }
  // diagnose scans its release's namespace, and only it.
  if (diagnose) flags.namespaces = diagnose.namespace;
  return {
    command,
    flags,
    ...(configFile && { configFile }),
    help,
    version,
    diff,
    ...(diagnose && {
      diagnose: {
        release: diagnose.release,
        ...(diagnose.revision !== undefined && { revision: diagnose.revision }),
      },
    }),
  };
}

/** Helm's rule for release names (a DNS-1123 subdomain of at most 53 characters). */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `diagnose <release> -n <namespace> [--revision N]`, checked. */
function diagnoseArgs(
  positionals: readonly string[],
  values: Readonly<Record<string, unknown>>,
): { release: string; namespace: string; revision?: number } {
  const [release, ...extra] = positionals;
  if (release === undefined)
    throw new UsageError("diagnose needs a release: diagnose <release> -n <namespace>");
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  if (release.length > 53 || !RELEASE_NAME.test(release))
    throw new UsageError(`${JSON.stringify(release)} is not a Helm release name`);
  const { namespace, namespaces, revision } = values;
  if (typeof namespace === "string" && typeof namespaces === "string" && namespace !== namespaces)
    throw new UsageError("give the release's namespace once: -n <namespace> or --namespace <namespace>");
  const chosen = typeof namespace === "string" ? namespace : namespaces;
  if (typeof chosen !== "string" || chosen === "" || chosen.includes(","))
    throw new UsageError("diagnose needs the release's one namespace: -n <namespace>");
  if (revision === undefined) return { release, namespace: chosen };
  const number = Number(revision);
  if (typeof revision !== "string" || !/^[1-9][0-9]*$/.test(revision) || !Number.isSafeInteger(number))
    throw new UsageError(`--revision takes a revision number, not ${JSON.stringify(revision)}`);
  return { release, namespace: chosen, revision: number };
}

export function usage(): string {
  const width = Math.max(...OPTIONS.map((spec) => spec.flag.length)) + 4;
  const line = (flag: string, text: string) => {
    const short = SHORT_FLAGS[flag];
    return `  ${short ? `-${short}, ` : ""}--${flag.padEnd(width - (short ? 4 : 0))}${text}`;
  };
  return [
    "Usage: helm-drift-exporter [serve|scan] [flags]",
    "       helm-drift-exporter diagnose <release> -n <namespace> [--revision N] [-o json] [flags]",
    "",
    "Commands:",
    "  serve     run the exporter: scan on a schedule, serve metrics and the JSON API (default)",
    "  scan      scan once and print the result; exit 0 when all is well, 1 when something",
    "            needs attention, 2 on error",
    "  diagnose  one release, for the person on call: verdict, status and lock, history, drift,",
    "            hooks, stuck deletions, rollback readiness, next steps; exit 0 healthy,",
    "            1 needs attention, 2 on error (no such release among them)",
    "",
    "Flags (each also read from the environment variable shown, or from --config.file):",
    line("config.file", `YAML configuration file (${CONFIG_FILE_ENV})`),
    ...OPTIONS.map((spec) => {
      const suffix = [
        "choices" in spec ? `one of ${spec.choices.join(", ")}` : "",
        "default" in spec ? `default ${JSON.stringify(spec.default)}` : "",
        "command" in spec
          ? spec.command === "scan"
            ? "scan and diagnose only"
            : `${spec.command} only`
          : "",
        envName(spec.flag),
      ].filter(Boolean);
      return line(spec.flag, `${spec.description} (${suffix.join("; ")})`);
    }),
    line(
      "diff",
      "scan only: print declared (-) against live (+) values of drifted objects; Secret values redacted",
    ),
    line("namespace", "diagnose only: the release's namespace (also -n)"),
    line("revision", "diagnose only: check a rollback to this revision (helm rollback <release> <N>)"),
    line("help", "show this help"),
    line("version", "print the version"),
    "",
  ].join("\n");
}
