/** Validates `drift.ignore` rules from the config file (see docs/drift.md). */
import type { IgnoreRule } from "../analysis/drift/ignore.ts";
import { isValidPointer } from "../analysis/drift/path.ts";

const STRING_FIELDS = ["release", "namespace", "kind", "name"] as const;
const LIST_FIELDS = ["paths", "managers"] as const;
const KNOWN = new Set<string>([...STRING_FIELDS, ...LIST_FIELDS]);

export function parseIgnoreRules(value: unknown, problems: string[]): IgnoreRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push("drift.ignore must be a list of rules");
    return [];
  }
  return value.flatMap((entry: unknown, index): IgnoreRule[] => {
    const where = `drift.ignore[${String(index)}]`;
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      problems.push(`${where} must be a mapping`);
      return [];
    }
    const raw = entry as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(raw))
      if (!KNOWN.has(key)) problems.push(`${where}: unknown key ${JSON.stringify(key)}`);
    const rule: { -readonly [K in keyof IgnoreRule]: IgnoreRule[K] } = {};
    for (const field of STRING_FIELDS) {
      const text = raw[field];
      if (text === undefined) continue;
      if (typeof text !== "string" || text === "") {
        problems.push(`${where}.${field} must be a non-empty string (globs * and ? allowed)`);
      } else rule[field] = text;
    }
    for (const field of LIST_FIELDS) {
      const items = stringList(raw[field]);
      if (raw[field] === undefined) continue;
      if (!items) {
        problems.push(`${where}.${field} must be a list of non-empty strings`);
        continue;
      }
      if (field === "paths") {
        for (const pointer of items.filter((item) => !isValidPointer(item))) {
          problems.push(`${where}.paths: ${JSON.stringify(pointer)} must start with / (e.g. /spec/replicas)`);
        }
      }
      rule[field] = items;
    }
    return problems.length === before ? [rule] : [];
  });
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const strings = value.filter((item): item is string => typeof item === "string" && item !== "");
  return strings.length === value.length ? strings : undefined;
}
