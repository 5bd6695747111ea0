/**
 * Decodes Helm's stored release records. Every failure is a value, not an exception:
 * a corrupt record makes its release "unreadable" with a bounded reason, and the scan
 * goes on with the others.
 */
import { gunzipSync } from "node:zlib";
import { Pacer } from "../util/event-loop.ts";
import { truncate } from "../util/text.ts";
import { jsonErrorPosition } from "./json-position.ts";
import {
  ExpansionBudget,
  heldBytesOf,
  ManifestError,
  manifestDocuments,
  toManifestObjects,
} from "./manifest.ts";
import {
  isReleaseStatus,
  type ChartInfo,
  type Hook,
  type HookPhase,
  type ManifestObject,
  type ReleaseRecord,
} from "./release.ts";
import { errorMessage } from "../util/errors.ts";

export const UNREADABLE_REASONS = ["base64", "gzip", "too_large", "json", "schema", "manifest"] as const;
export type UnreadableReason = (typeof UNREADABLE_REASONS)[number];

export type DecodeResult =
  | {
      readonly ok: true;
      readonly record: ReleaseRecord;
      /** About how much memory the record holds once decoded: what a cache of records counts. */
      readonly heldBytes: number;
    }
  | { readonly ok: false; readonly reason: UnreadableReason; readonly message: string };

/**
 * What is kept of a record's free text: a release record is anyone's input, and a description
 * of 60 MiB (a few KB compressed) must not be held or published. Helm's own descriptions,
 * failed upgrades' errors included, fit well within these.
 */
export const MAX_DESCRIPTION_CHARS = 16 * 1024;
export const MAX_NAME_CHARS = 256;
/**
 * Counts beyond any chart's: the largest public charts declare a few hundred objects and a
 * few dozen hooks. A record past them is refused before it is held, so a few megabytes of
 * tiny documents cannot become millions of objects.
 */
export const MAX_MANIFEST_OBJECTS = 20_000;
export const MAX_HOOKS = 2_000;
const MAX_LIST_ITEMS = 64;

export interface DecodeLimits {
  /**
   * Largest decompressed record accepted, and most its manifest and hooks together may
   * expand through YAML aliases: a gzip bomb and an alias bomb stop here.
   */
  readonly maxDecodedBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDecodedBytes: 64 * 1024 * 1024,
};

const GZIP_MAGIC = [0x1f, 0x8b, 0x08] as const;

class DecodeError extends Error {
  readonly reason: UnreadableReason;
  constructor(reason: UnreadableReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Strict base64: Buffer.from silently skips invalid characters, which would hide corruption. */
export function decodeBase64(text: string): Buffer | undefined {
  return strictBase64(text) ?? (/\s/.test(text) ? strictBase64(text.replace(/\s+/g, "")) : undefined);
}

/**
 * Base64 of the standard alphabet, padded, nothing else. Buffer.from decodes the URL-safe
 * alphabet too, and skips any other character or stops at an early "=": each of those yields
 * fewer bytes than the text's length promises. Checked so rather than with a regular
 * expression, which took a twentieth of a cold scan (two texts of each record, 170 MB at 1,000
 * releases).
 */
function strictBase64(compact: string): Buffer | undefined {
  if (compact.length % 4 !== 0 || compact.includes("-") || compact.includes("_")) return undefined;
  const padding = compact.endsWith("==") ? 2 : compact.endsWith("=") ? 1 : 0;
  const bytes = Buffer.from(compact, "base64");
  return bytes.length === (compact.length / 4) * 3 - padding ? bytes : undefined;
}

/**
 * Decodes Helm's encoding of a release: base64 text of gzip(JSON), or of plain JSON for
 * releases written before Helm compressed them. Reading manifests yields to the event loop
 * now and then and stops when `signal` aborts (a scan's timeout), so a crafted record cannot
 * hold a scan past its timeout.
 */
export async function decodeRelease(
  encoded: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  signal?: AbortSignal,
): Promise<DecodeResult> {
  const pacer = new Pacer(signal);
  const steps = decodeSteps(encoded, limits);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await pacer.turn();
  }
}

/** decodeRelease without pauses, for fixtures and tests. */
export function decodeReleaseNow(
  encoded: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodeResult {
  const steps = decodeSteps(encoded, limits);
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

/** The decoding, yielding between documents: the caller decides whether to pause there. */
function* decodeSteps(encoded: string, limits: DecodeLimits): Generator<void, DecodeResult> {
  try {
    // The JSON text and the parsed record are dropped before the manifest is read: of a record
    // of many megabytes only its manifest, hooks and a few small fields are kept.
    const fields = recordFields(inflate(encoded, limits));
    const budget = new ExpansionBudget(limits.maxDecodedBytes);
    const { manifestText, rawHooks, ...kept } = fields;
    const record: ReleaseRecord = {
      ...kept,
      manifest: yield* readManifest(manifestText, budget),
      hooks: yield* parseHooks(rawHooks, budget),
    };
    return { ok: true, record, heldBytes: heldBytes(record) };
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

/** What a record keeps, from its JSON, all else left behind; manifests still to be read. */
function recordFields(
  json: string,
): Omit<ReleaseRecord, "manifest" | "hooks"> & { manifestText: string; rawHooks: unknown } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // V8's message quotes the text around the error, which may be a Helm value: position only.
    throw new DecodeError("json", `release record is not valid JSON (${jsonErrorPosition(json)})`);
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
    throw new DecodeError("schema", `release record has an unknown status ${quoted(status)}`);
  const manifestText = record.manifest ?? "";
  if (typeof manifestText !== "string") throw new DecodeError("schema", "release manifest is not a string");
  const firstDeployed = parseTime(info.first_deployed);
  const lastDeployed = parseTime(info.last_deployed);
  const deleted = parseTime(info.deleted);
  return {
    name: bounded(name),
    namespace: bounded(namespace),
    revision,
    status,
    description:
      typeof info.description === "string" ? truncate(info.description, MAX_DESCRIPTION_CHARS) : "",
    ...(firstDeployed && { firstDeployed }),
    ...(lastDeployed && { lastDeployed }),
    ...(deleted && { deleted }),
    chart: parseChart(record.chart),
    applyMethod: record.apply_method === "ssa" ? "ssa" : "csa",
    manifestText,
    rawHooks: record.hooks,
  };
}

/** A name from the record, bounded: Kubernetes' own names are far shorter. */
function bounded(text: string): string {
  return truncate(text, MAX_NAME_CHARS);
}

/** A value from the record in an error message: short, whatever it is. */
function quoted(value: unknown): string {
  // JSON.stringify gives undefined for undefined, which its types do not say.
  const json = JSON.stringify(value) as string | undefined;
  return truncate(json ?? "undefined", 64);
}

/** About what a decoded record holds: its manifest bodies (as JSON text) and its strings. */
function heldBytes(record: ReleaseRecord): number {
  let bytes = record.description.length + record.name.length + record.namespace.length + 1024;
  for (const object of record.manifest) bytes += heldBytesOf(object);
  return bytes + record.hooks.length * 512;
}

function parseChart(value: unknown): ChartInfo {
  const chart = value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const metadata =
    chart.metadata && typeof chart.metadata === "object" ? (chart.metadata as Record<string, unknown>) : {};
  const text = (field: unknown): string => (typeof field === "string" ? bounded(field) : "");
  return {
    name: text(metadata.name),
    version: text(metadata.version),
    appVersion: text(metadata.appVersion),
  };
}

function* readManifest(text: string, budget: ExpansionBudget): Generator<void, ManifestObject[]> {
  const objects: ManifestObject[] = [];
  try {
    for (const { body, source } of manifestDocuments(text, budget)) {
      objects.push(...toManifestObjects(body, source));
      if (objects.length > MAX_MANIFEST_OBJECTS)
        throw new DecodeError(
          "manifest",
          `manifest declares more than ${String(MAX_MANIFEST_OBJECTS)} objects`,
        );
      yield;
    }
  } catch (error) {
    if (error instanceof ManifestError) throw new DecodeError("manifest", error.message);
    throw error;
  }
  return objects;
}

/**
 * apiVersion and namespace of a hook, from the first object of its manifest, read on the
 * record's budget; its body is not kept (a hook may be a Secret). A hook whose manifest
 * cannot be read gives neither: its own YAML is not the release's problem. A spent budget
 * is: the record is unreadable.
 */
function* hookTarget(
  manifest: unknown,
  budget: ExpansionBudget,
): Generator<void, { apiVersion?: string; namespace?: string }> {
  if (typeof manifest !== "string") return {};
  try {
    for (const { body } of manifestDocuments(manifest, budget)) {
      yield;
      const object = body && typeof body === "object" ? (body as Record<string, unknown>) : undefined;
      if (!object) continue;
      const metadata =
        object.metadata && typeof object.metadata === "object"
          ? (object.metadata as Record<string, unknown>)
          : {};
      return {
        ...(typeof object.apiVersion === "string" && { apiVersion: bounded(object.apiVersion) }),
        ...(typeof metadata.namespace === "string" &&
          metadata.namespace !== "" && { namespace: bounded(metadata.namespace) }),
      };
    }
  } catch (error) {
    if (error instanceof ManifestError && error.message.includes("YAML aliases"))
      throw new DecodeError("manifest", `a hook's ${error.message}`);
    if (!(error instanceof ManifestError)) throw error;
  }
  return {};
}

function* parseHooks(value: unknown, budget: ExpansionBudget): Generator<void, Hook[]> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DecodeError("schema", "release hooks is not a list");
  if (value.length > MAX_HOOKS)
    throw new DecodeError("schema", `release record has more than ${String(MAX_HOOKS)} hooks`);
  const hooks: Hook[] = [];
  for (const [index, item] of value.entries()) {
    const hook = asObject(item, `hooks[${String(index)}]`);
    const lastRun =
      hook.last_run && typeof hook.last_run === "object" ? (hook.last_run as Record<string, unknown>) : {};
    const phase = typeof lastRun.phase === "string" && isHookPhase(lastRun.phase) ? lastRun.phase : "Unknown";
    const startedAt = parseTime(lastRun.started_at);
    const completedAt = parseTime(lastRun.completed_at);
    const target = yield* hookTarget(hook.manifest, budget);
    hooks.push({
      ...target,
      name: bounded(requireString(hook.name, `hooks[${String(index)}].name`)),
      kind: bounded(requireString(hook.kind, `hooks[${String(index)}].kind`)),
      path: typeof hook.path === "string" ? bounded(hook.path) : "",
      events: stringList(hook.events),
      deletePolicies: stringList(hook.delete_policies),
      weight: typeof hook.weight === "number" ? hook.weight : 0,
      lastRun: { phase, ...(startedAt && { startedAt }), ...(completedAt && { completedAt }) },
    });
  }
  return hooks;
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
  return Array.isArray(value)
    ? value
        .filter((item): item is string => typeof item === "string")
        .slice(0, MAX_LIST_ITEMS)
        .map(bounded)
    : [];
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}
