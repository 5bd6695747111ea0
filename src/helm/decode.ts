/**
 * Decodes Helm's stored release records. Every failure is a value, not an exception:
 * a corrupt record makes its release "unreadable" with a bounded reason, and the scan
 * goes on with the others.
 */
import { gunzipSync } from "node:zlib";
import { ManifestError, parseManifest } from "./manifest.ts";
import {
  isReleaseStatus,
  type ChartInfo,
  type Hook,
  type HookPhase,
  type ManifestObject,
  type ReleaseRecord,
} from "./release.ts";

export const UNREADABLE_REASONS = [
  "base64",
  "gzip",
  "too_large",
  "json",
  "schema",
  "manifest",
  "fetch",
] as const;
export type UnreadableReason = (typeof UNREADABLE_REASONS)[number];

export type DecodeResult =
  | { readonly ok: true; readonly record: ReleaseRecord }
  | { readonly ok: false; readonly reason: UnreadableReason; readonly message: string };

export interface DecodeLimits {
  /**
   * Largest decompressed record accepted, and largest manifest once its YAML aliases are
   * expanded: a gzip bomb and an alias bomb stop here.
   */
  readonly maxDecodedBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDecodedBytes: 64 * 1024 * 1024,
};

const GZIP_MAGIC = [0x1f, 0x8b, 0x08] as const;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

class DecodeError extends Error {
  readonly reason: UnreadableReason;
  constructor(reason: UnreadableReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Strict base64: Buffer.from silently skips invalid characters, which would hide corruption. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, "base64");
}

/**
 * Decodes Helm's encoding of a release: base64 text of gzip(JSON), or of plain JSON
 * for releases written before Helm compressed them.
 */
export function decodeRelease(encoded: string, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  try {
    return { ok: true, record: parseRecord(inflate(encoded, limits), limits) };
  } catch (error) {
    if (error instanceof DecodeError) return { ok: false, reason: error.reason, message: error.message };
    throw error;
  }
}

function inflate(encoded: string, limits: DecodeLimits): string {
  const bytes = decodeBase64(encoded);
  if (!bytes) throw new DecodeError("base64", "release data is not valid base64");
  if (!GZIP_MAGIC.every((byte, index) => bytes[index] === byte)) {
    if (bytes.length > limits.maxDecodedBytes) {
      throw new DecodeError("too_large", `release record exceeds ${String(limits.maxDecodedBytes)} bytes`);
    }
    return bytes.toString("utf8");
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: limits.maxDecodedBytes }).toString("utf8");
  } catch (error) {
    if (isNodeError(error) && error.code === "ERR_BUFFER_TOO_LARGE") {
      throw new DecodeError(
        "too_large",
        `release record decompresses to more than ${String(limits.maxDecodedBytes)} bytes`,
      );
    }
    throw new DecodeError("gzip", `release data is not valid gzip: ${errorMessage(error)}`);
  }
}

function parseRecord(json: string, limits: DecodeLimits): ReleaseRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new DecodeError("json", `release record is not valid JSON: ${errorMessage(error)}`);
  }
  const record = asObject(raw, "release record");
  const info = asObject(record.info, "info");
  const name = requireString(record.name, "name");
  const namespace = requireString(record.namespace, "namespace");
  const revision = record.version;
  if (typeof revision !== "number" || !Number.isInteger(revision) || revision < 1) {
    throw new DecodeError("schema", "release record has no valid version (revision)");
  }
  const status = info.status;
  if (!isReleaseStatus(status))
    throw new DecodeError("schema", `release record has an unknown status ${JSON.stringify(status)}`);
  const manifestText = record.manifest ?? "";
  if (typeof manifestText !== "string") throw new DecodeError("schema", "release manifest is not a string");
  const firstDeployed = parseTime(info.first_deployed);
  const lastDeployed = parseTime(info.last_deployed);
  const deleted = parseTime(info.deleted);
  return {
    name,
    namespace,
    revision,
    status,
    description: typeof info.description === "string" ? info.description : "",
    ...(firstDeployed && { firstDeployed }),
    ...(lastDeployed && { lastDeployed }),
    ...(deleted && { deleted }),
    chart: parseChart(record.chart),
    applyMethod: record.apply_method === "ssa" ? "ssa" : "csa",
    manifest: readManifest(manifestText, limits),
    hooks: parseHooks(record.hooks, limits),
  };
}

function parseChart(value: unknown): ChartInfo {
  const chart = value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const metadata =
    chart.metadata && typeof chart.metadata === "object" ? (chart.metadata as Record<string, unknown>) : {};
  const text = (field: unknown): string => (typeof field === "string" ? field : "");
  return {
    name: text(metadata.name),
    version: text(metadata.version),
    appVersion: text(metadata.appVersion),
  };
}

function readManifest(text: string, limits: DecodeLimits): ManifestObject[] {
  try {
    return parseManifest(text, { maxExpandedBytes: limits.maxDecodedBytes });
  } catch (error) {
    if (error instanceof ManifestError) throw new DecodeError("manifest", error.message);
    throw error;
  }
}

/** apiVersion and namespace of a hook, from its manifest; unparseable manifests give neither. */
function hookTarget(manifest: unknown, limits: DecodeLimits): { apiVersion?: string; namespace?: string } {
  if (typeof manifest !== "string") return {};
  try {
    const [object] = readManifest(manifest, limits);
    if (!object) return {};
    return { apiVersion: object.apiVersion, ...(object.namespace && { namespace: object.namespace }) };
  } catch {
    return {};
  }
}

function parseHooks(value: unknown, limits: DecodeLimits): Hook[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DecodeError("schema", "release hooks is not a list");
  return value.map((item: unknown, index): Hook => {
    const hook = asObject(item, `hooks[${String(index)}]`);
    const lastRun =
      hook.last_run && typeof hook.last_run === "object" ? (hook.last_run as Record<string, unknown>) : {};
    const phase = typeof lastRun.phase === "string" && isHookPhase(lastRun.phase) ? lastRun.phase : "Unknown";
    const startedAt = parseTime(lastRun.started_at);
    const completedAt = parseTime(lastRun.completed_at);
    const target = hookTarget(hook.manifest, limits);
    return {
      ...target,
      name: requireString(hook.name, `hooks[${String(index)}].name`),
      kind: requireString(hook.kind, `hooks[${String(index)}].kind`),
      path: typeof hook.path === "string" ? hook.path : "",
      events: stringList(hook.events),
      deletePolicies: stringList(hook.delete_policies),
      weight: typeof hook.weight === "number" ? hook.weight : 0,
      lastRun: { phase, ...(startedAt && { startedAt }), ...(completedAt && { completedAt }) },
    };
  });
}

function isHookPhase(value: string): value is HookPhase {
  return ["", "Unknown", "Running", "Succeeded", "Failed"].includes(value);
}

/** Go writes RFC3339Nano; Helm 3 writes "" for zero times and Helm 4 omits them. */
export function parseTime(value: unknown): Date | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || time.getUTCFullYear() <= 1) return undefined;
  return time;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new DecodeError("schema", `${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "")
    throw new DecodeError("schema", `release record has no ${what}`);
  return value;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
