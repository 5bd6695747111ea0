/**
 * Resolves the configuration from flags, environment and an optional YAML file
 * (in that order of precedence), and validates all of it at start: every error is
 * reported at once, each naming where the bad value came from.
 */
import { readFileSync } from "node:fs";
import cron from "node-cron";
import { parse as parseYaml } from "yaml";
import type { DriftOptions } from "../analysis/drift/drift.ts";
import { envName, OPTIONS, type OptionName, type OptionSpec } from "./options.ts";
import { parseIgnoreRules } from "./ignore-rules.ts";
import { labelSelectorProblem } from "../model/label-selector.ts";
import type { ReleaseFilter } from "../model/release-filter.ts";
import { wholeMatch } from "../util/text.ts";
import { scalarText } from "../util/text.ts";
import { errorMessage } from "../util/errors.ts";

export interface Config {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  /** --releases, --exclude-releases, --namespace-selector. */
  readonly releaseFilter: ReleaseFilter;
  readonly metricFilter: MetricFilterSpec;
  readonly schedule: string;
  readonly scanTimeoutMs: number;
  readonly terminatingAfterMs: number;
  readonly scanConcurrency: number;
  readonly maxDecodedBytes: number;
  readonly scanHeapLimitBytes: number;
  readonly listenHost: string | undefined;
  readonly listenPort: number;
  readonly telemetryPath: string;
  readonly webConfigFile?: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly logFormat: "json" | "logfmt";
  readonly output: "table" | "json";
  readonly drift: DriftOptions;
}

/** --metric-allowlist, --metric-denylist: regexes over whole metric names; one of them is empty. */
export interface MetricFilterSpec {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
    this.problems = problems;
  }
}

/** A parse failure, with why; distinct from any parsed value. */
class Invalid {
  readonly why: string;
  constructor(why: string) {
    this.why = why;
  }
}
const invalid = (why: string) => new Invalid(why);

interface RawValue {
  readonly value: string;
  readonly origin: string;
}

export interface ConfigSources {
  /** Flag values by option name (without the leading dashes). */
  readonly flags: Readonly<Partial<Record<string, string>>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly configFile?: string;
}

export function resolveConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  const file = sources.configFile ? readConfigFile(sources.configFile, problems) : {};
  const raw = (spec: OptionSpec): RawValue | undefined => {
    const flag = sources.flags[spec.flag];
    if (flag !== undefined) return { value: flag, origin: `flag --${spec.flag}` };
    const env = sources.env[envName(spec.flag)];
    if (env !== undefined && env !== "") return { value: env, origin: `env ${envName(spec.flag)}` };
    const fromFile = lookup(file, spec.fileKey);
    if (fromFile !== undefined) {
      return {
        value: Array.isArray(fromFile) ? fromFile.map(scalarText).join(",") : scalarText(fromFile),
        origin: `${sources.configFile ?? ""}: ${spec.fileKey.join(".")}`,
      };
    }
    return spec.default === undefined ? undefined : { value: spec.default, origin: "default" };
  };
  const values = new Map<OptionName, RawValue>();
  for (const spec of OPTIONS) {
    const value = raw(spec);
    if (value) values.set(spec.flag, value);
  }
  const get = (name: OptionName) => values.get(name);
  const check = <T>(name: OptionName, parse: (value: string) => T | Invalid): T | undefined => {
    const value = get(name);
    if (!value) return undefined;
    const parsed = parse(value.value);
    if (parsed instanceof Invalid) {
      problems.push(`--${name}=${JSON.stringify(value.value)} (${value.origin}): ${parsed.why}`);
      return undefined;
    }
    return parsed;
  };

  for (const spec of OPTIONS) {
    if (spec.type !== "enum") continue;
    check(spec.flag, (value) =>
      (spec.choices as readonly string[]).includes(value)
        ? value
        : invalid(`must be one of ${spec.choices.join(", ")}`),
    );
  }
  const schedule = check("schedule", (value) =>
    cron.validate(value) ? value : invalid("not a valid cron expression"),
  );
  const scanTimeoutMs = check(
    "scan.timeout",
    (value) => parseDuration(value) ?? invalid("not a duration (e.g. 30s, 5m, 1h)"),
  );
  const terminatingAfterMs = check(
    "terminating.threshold",
    (value) => parseDuration(value) ?? invalid("not a duration (e.g. 10m)"),
  );
  const scanConcurrency = check("scan.concurrency", (value) => {
    const number = Number(value);
    return Number.isInteger(number) && number >= 1 && number <= 256
      ? number
      : invalid("must be a whole number from 1 to 256");
  });
  const maxDecodedBytes = check(
    "release.max-decoded-bytes",
    (value) => parseBytes(value) ?? invalid("not a size (e.g. 64Mi, 10000000)"),
  );
  const scanHeapLimitBytes = check("scan.heap-limit", (value) => {
    const bytes = parseBytes(value);
    if (bytes === undefined) return invalid("not a size (e.g. 512Mi, 1Gi)");
    return bytes >= 64 * 2 ** 20 ? bytes : invalid("must be at least 64Mi");
  });
  if (
    maxDecodedBytes !== undefined &&
    scanHeapLimitBytes !== undefined &&
    maxDecodedBytes > scanHeapLimitBytes / 4
  ) {
    // Decoding a record briefly needs a few times its size in the scanner's heap.
    problems.push(
      `--release.max-decoded-bytes (${String(maxDecodedBytes)}) must be at most a quarter of --scan.heap-limit (${String(scanHeapLimitBytes)})`,
    );
  }
  const listen = check("web.listen-address", parseListenAddress);
  const telemetryPath = check("web.telemetry-path", (value) =>
    value.startsWith("/") && value.length > 1 ? value : invalid("must start with / and not be /"),
  );
  const rules = parseIgnoreRules(lookup(file, ["drift", "ignore"]), problems);
  const namespaces = list(get("namespaces")?.value);
  const excludeNamespaces = list(get("exclude-namespaces")?.value);
  for (const namespace of [...namespaces, ...excludeNamespaces]) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
      problems.push(`namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
    }
  }
  const releases = list(get("releases")?.value);
  const excludeReleases = list(get("exclude-releases")?.value);
  for (const glob of [...releases, ...excludeReleases]) {
    if (!RELEASE_GLOB.test(glob))
      problems.push(
        `release glob ${JSON.stringify(glob)} must be <name> or <namespace>/<name>, of lower-case letters, digits, '-', '.', and the wildcards * and ?`,
      );
  }
  const namespaceSelector = check("namespace-selector", (value) => {
    const why = labelSelectorProblem(value);
    return why === undefined ? value : invalid(why);
  });
  const metricAllowlist = list(get("metric-allowlist")?.value);
  const metricDenylist = list(get("metric-denylist")?.value);
  if (metricAllowlist.length > 0 && metricDenylist.length > 0)
    problems.push("--metric-allowlist and --metric-denylist are mutually exclusive: set one of them");
  for (const pattern of [...metricAllowlist, ...metricDenylist]) {
    const regex = wholeMatch(pattern);
    if (!(regex instanceof RegExp)) problems.push(`metric pattern ${JSON.stringify(pattern)}: ${regex}`);
  }

  if (
    problems.length > 0 ||
    !schedule ||
    !scanTimeoutMs ||
    !terminatingAfterMs ||
    !scanConcurrency ||
    !maxDecodedBytes ||
    !scanHeapLimitBytes ||
    !listen ||
    !telemetryPath
  ) {
    throw new ConfigError(problems.length > 0 ? problems : ["incomplete configuration"]);
  }
  const kubeconfig = get("kubeconfig")?.value;
  const context = get("context")?.value;
  const webConfigFile = get("web.config.file")?.value;
  return {
    ...(kubeconfig && { kubeconfig }),
    ...(context && { context }),
    ...(webConfigFile && { webConfigFile }),
    namespaces,
    excludeNamespaces,
    releaseFilter: {
      releases,
      excludeReleases,
      ...(namespaceSelector !== undefined && namespaceSelector.trim() !== "" && { namespaceSelector }),
    },
    metricFilter: { allow: metricAllowlist, deny: metricDenylist },
    schedule,
    scanTimeoutMs,
    terminatingAfterMs,
    scanConcurrency,
    maxDecodedBytes,
    scanHeapLimitBytes,
    listenHost: listen.host,
    listenPort: listen.port,
    telemetryPath,
    logLevel: get("log.level")?.value as Config["logLevel"],
    logFormat: get("log.format")?.value as Config["logFormat"],
    output: get("output")?.value as Config["output"],
    drift: {
      helmManagers: list(get("drift.helm-managers")?.value),
      ignoreManagers: list(get("drift.ignore-managers")?.value),
      humanManagers: list(get("drift.human-managers")?.value),
      ignoreHpaReplicas: get("drift.ignore-hpa-replicas")?.value !== "false",
      rules,
    },
  };
}

/** A release name (lower-case DNS labels joined by dots, as helm allows), optionally after its namespace and '/'; with globs. */
const RELEASE_GLOB = /^([a-z0-9*?][-a-z0-9*?]*\/)?[a-z0-9*?][-a-z0-9.*?]*$/;

function readConfigFile(path: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    problems.push(`--config.file: cannot read ${path}: ${errorMessage(error)}`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    problems.push(`--config.file: ${path} is not valid YAML: ${errorMessage(error)}`);
    return {};
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push(`--config.file: ${path} must hold a mapping`);
    return {};
  }
  const known = new Set([...OPTIONS.map((spec) => spec.fileKey.join(".")), "drift.ignore"]);
  for (const key of flattenKeys(parsed as Record<string, unknown>)) {
    if (!known.has(key)) problems.push(`--config.file: ${path}: unknown key ${JSON.stringify(key)}`);
  }
  return parsed as Record<string, unknown>;
}

function flattenKeys(object: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(object).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = value && typeof value === "object" && !Array.isArray(value);
    return nested ? flattenKeys(value as Record<string, unknown>, path) : [path];
  });
}

function lookup(object: Record<string, unknown>, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (!current || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current ?? undefined;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Prometheus-style durations: 500ms, 30s, 5m, 1h30m. */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) return undefined;
  const total = parts.reduce((sum, part) => sum + Number(part[1]) * (DURATION_UNITS[part[2] ?? ""] ?? 0), 0);
  return total > 0 ? total : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

export function parseBytes(text: string): number | undefined {
  const match = /^(\d+)(|k|M|G|Ki|Mi|Gi)$/.exec(text);
  if (!match) return undefined;
  const bytes = Number(match[1]) * (BYTE_UNITS[match[2] ?? ""] ?? 1);
  return bytes > 0 ? bytes : undefined;
}

/** `:9877`, `0.0.0.0:9877`, `[::1]:9877`. */
export function parseListenAddress(text: string): { host: string | undefined; port: number } | Invalid {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) return invalid("must be [host]:port, e.g. :9877");
  const host = match[1] ?? match[2];
  return { host: host === "" ? undefined : host, port };
}
