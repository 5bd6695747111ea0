/**
 * Helpers for the alert rules' tests: where promtool is, running it, and the small PromQL and
 * Markdown readers the convention checks need.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { alertsDir } from "./generate.ts";

export const repoRoot = path.dirname(alertsDir);
const buildScript = path.join(repoRoot, "scripts", "build-monitoring.sh");

/**
 * The promtool to use: $PROMTOOL when set, else the Prometheus 3 promtool that
 * scripts/build-monitoring.sh builds into ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin
 * (the script prints that path, so the pinned version lives only there). Throws, naming the
 * command to run, when that file does not exist.
 */
export function promtoolPath(): string {
  const fromEnv = process.env.PROMTOOL;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const built = execFileSync("bash", [buildScript, "--print-path", "promtool"], { encoding: "utf8" }).trim();
  if (!existsSync(built)) {
    throw new Error(`${built} is missing: run \`bash scripts/build-monitoring.sh\` (or set PROMTOOL)`);
  }
  return built;
}

export interface ToolResult {
  code: number;
  output: string;
}

/** Runs promtool; never throws on a non-zero exit, the caller reports `output`. */
export async function promtool(args: string[], cwd = alertsDir): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolPath(), args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: unknown; stderr?: unknown; message: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, output: `${String(e.stdout)}${String(e.stderr)}` };
  }
}

/** PromQL words that look like metric names: operators, modifiers and the float literals. */
export const PROMQL_KEYWORDS: ReadonlySet<string> = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/**
 * Metric names a PromQL expression reads. Good enough for rule files: strings, label matchers,
 * range/subquery brackets, grouping label lists and function names are skipped.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (name === undefined || call !== undefined || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** GitHub's heading anchors of a Markdown document (outside fenced code). */
export function headingAnchors(markdown: string, anchor: (heading: string) => string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) anchors.add(anchor(heading.replace(/`/g, "")));
  }
  return anchors;
}
