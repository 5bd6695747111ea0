/** What users tell the exporter to ignore: config rules, live-object annotations, HPAs. */
import { globMatches } from "../../util/glob.ts";
import { scalarText } from "../../util/text.ts";
import { pointerMatches, type FieldPath } from "./path.ts";

export interface IgnoreRule {
  /** Globs (`*`, `?`); an absent matcher matches everything. */
  readonly release?: string;
  readonly namespace?: string;
  /** `Deployment` or `apps/Deployment` (group/kind; core kinds have no group). */
  readonly kind?: string;
  readonly name?: string;
  /** Ignore these paths (JSON-pointer-like, see path.ts). */
  readonly paths?: readonly string[];
  /** Ignore fields owned by these managers. */
  readonly managers?: readonly string[];
}

export const IGNORE_ANNOTATION = "helm-drift-exporter/ignore";
export const IGNORE_PATHS_ANNOTATION = "helm-drift-exporter/ignore-paths";

export type IgnoreReason = "annotation" | "hpa" | "manager" | "rule";
export const IGNORE_REASONS: readonly IgnoreReason[] = ["annotation", "hpa", "manager", "rule"];

export interface ObjectIdentity {
  readonly release: string;
  readonly namespace: string;
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export function ruleMatchesObject(rule: IgnoreRule, object: ObjectIdentity): boolean {
  const kind = rule.kind?.includes("/") ? `${object.group}/${object.kind}` : object.kind;
  return (
    globMatches(rule.release, object.release) &&
    globMatches(rule.namespace, object.namespace) &&
    globMatches(rule.kind, kind) &&
    globMatches(rule.name, object.name)
  );
}

/** A rule that names neither paths nor managers ignores the whole object. */
export function ignoresWholeObject(rule: IgnoreRule): boolean {
  return (rule.paths?.length ?? 0) === 0 && (rule.managers?.length ?? 0) === 0;
}

export function ruleIgnoresField(rule: IgnoreRule, path: FieldPath, managers: readonly string[]): boolean {
  if (ignoresWholeObject(rule)) return true;
  const byPath = rule.paths?.some((pointer) => pointerMatches(pointer, path)) ?? false;
  const byManager = managers.length > 0 && managers.every((manager) => rule.managers?.includes(manager));
  return byPath || byManager;
}

export function annotationIgnores(annotations: Readonly<Record<string, unknown>>): {
  all: boolean;
  paths: string[];
} {
  const all = scalarText(annotations[IGNORE_ANNOTATION] ?? "").toLowerCase() === "true";
  const paths = scalarText(annotations[IGNORE_PATHS_ANNOTATION] ?? "")
    .split(",")
    .map((pointer) => pointer.trim())
    .filter((pointer) => pointer.startsWith("/"));
  return { all, paths };
}
