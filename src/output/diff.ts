/**
 * How a declared value became the live one, for people: a changed multi-line string (a
 * ConfigMap's prometheus.yml) as a line diff with a few lines of context, a list as items
 * kept, removed, added and moved (a reordered list is moves, not the whole list removed and
 * added again), anything else as its YAML. Each line starts with its mark: `-` declared
 * only, `+` live only, `~` moved, ` ` context, `@` a hunk header. Sensitive values (Secret
 * data) are never rendered, whatever is passed in, and every line is escaped (printable): the
 * values come from release records and the cluster, and must not drive the terminal.
 */
import { canonicalize, diffArrays, structuredPatch } from "diff";
import { stringify } from "yaml";
import { printable } from "../util/text.ts";

export const REDACTED_TEXT = "(redacted)";

export interface ValueChange {
  /** undefined: the live object has it, the manifest does not. */
  readonly declared: unknown;
  /** undefined: the manifest declares it, the live object lacks it. */
  readonly live: unknown;
  readonly sensitive: boolean;
}

export interface DiffOptions {
  /** ANSI colours (red removed, green added, yellow moved, cyan hunks); off by default. */
  readonly colour?: boolean;
  /** Unchanged lines or list items shown around each change. */
  readonly context?: number;
}

const DEFAULT_CONTEXT = 3;
const COLOURS: Readonly<Record<string, string>> = { "-": "31", "+": "32", "~": "33", "@": "36" };

/** The lines of one value change, each starting with its mark. */
export function renderValueChange(change: ValueChange, options: DiffOptions = {}): string[] {
  const context = options.context ?? DEFAULT_CONTEXT;
  const lines = changeLines(change, context).map(printable);
  return options.colour ? lines.map(colourLine) : lines;
}

function changeLines({ declared, live, sensitive }: ValueChange, context: number): string[] {
  if (sensitive) {
    return [
      ...(declared === undefined ? [] : [`- ${REDACTED_TEXT}`]),
      ...(live === undefined ? [] : [`+ ${REDACTED_TEXT}`]),
    ];
  }
  if (declared === undefined || live === undefined) {
    return declared === undefined ? marked("+", valueText(live)) : marked("-", valueText(declared));
  }
  if (Array.isArray(declared) && Array.isArray(live)) return listLines(declared, live, context);
  if (isMultiLine(declared) || isMultiLine(live) || isStructured(declared) || isStructured(live))
    return textDiffLines(valueText(declared), valueText(live), context);
  return [...marked("-", valueText(declared)), ...marked("+", valueText(live))];
}

/** A string as itself when it spans lines, a scalar as JSON (quotes show its type), the rest as YAML. */
function valueText(value: unknown): string {
  if (isMultiLine(value)) return value;
  if (isStructured(value)) return stringify(value).trimEnd();
  return JSON.stringify(value);
}

function isMultiLine(value: unknown): value is string {
  return typeof value === "string" && value.includes("\n");
}

function isStructured(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function marked(mark: string, text: string): string[] {
  return text.split("\n").map((line) => `${mark} ${line}`);
}

/** A unified line diff: hunks of changed lines with `context` unchanged lines around them. */
function textDiffLines(declared: string, live: string, context: number): string[] {
  const patch = structuredPatch("declared", "live", withNewline(declared), withNewline(live), "", "", {
    context,
  });
  return patch.hunks.flatMap((hunk) => [
    `@@ -${String(hunk.oldStart)},${String(hunk.oldLines)} +${String(hunk.newStart)},${String(hunk.newLines)} @@`,
    // jsdiff marks lines with -, + or a space; "\ No newline at end of file" is noise here.
    ...hunk.lines
      .filter((line) => !line.startsWith("\\"))
      .map((line) => `${line.slice(0, 1)} ${line.slice(1)}`),
  ]);
}

/** Both sides end with a newline, so a missing final newline is not a change of the last line. */
function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

type ListEntry =
  | { readonly mark: " " | "-" | "+"; readonly item: unknown }
  | { readonly mark: "~"; readonly item: unknown; readonly from: number; readonly to: number };

interface Step {
  readonly kind: "kept" | "removed" | "added";
  readonly id: string;
  readonly item: unknown;
  /** Index in the declared list (kept, removed) or in the live list (added). */
  readonly index: number;
}

/**
 * Items matched by value in order (longest common subsequence); an item removed at one
 * place and added at another is a move, shown once where it is now.
 */
function listLines(declared: readonly unknown[], live: readonly unknown[], context: number): string[] {
  const steps = listSteps(declared, live);
  const unpairedRemovals = steps.filter((step) => step.kind === "removed");
  const movedFrom = new Map<Step, number>();
  const moved = new Set<Step>();
  for (const step of steps.filter((candidate) => candidate.kind === "added")) {
    const removal = unpairedRemovals.find((candidate) => candidate.id === step.id && !moved.has(candidate));
    if (!removal) continue;
    moved.add(removal);
    movedFrom.set(step, removal.index);
  }
  const entries = steps.flatMap((step): ListEntry[] => {
    if (moved.has(step)) return [];
    const from = movedFrom.get(step);
    if (from !== undefined) return [{ mark: "~", item: step.item, from, to: step.index }];
    return [{ mark: step.kind === "kept" ? " " : step.kind === "removed" ? "-" : "+", item: step.item }];
  });
  return withListContext(entries, context).flatMap(entryLines);
}

function listSteps(declared: readonly unknown[], live: readonly unknown[]): Step[] {
  const identity = (item: unknown) =>
    JSON.stringify(canonicalize(item, [], [], (_key: string, value: unknown) => value));
  const steps: Step[] = [];
  let oldIndex = 0;
  let newIndex = 0;
  for (const change of diffArrays(declared.map(identity), live.map(identity))) {
    for (const id of change.value) {
      if (change.added) steps.push({ kind: "added", id, item: live[newIndex], index: newIndex++ });
      else if (change.removed)
        steps.push({ kind: "removed", id, item: declared[oldIndex], index: oldIndex++ });
      else {
        steps.push({ kind: "kept", id, item: live[newIndex], index: oldIndex });
        oldIndex++;
        newIndex++;
      }
    }
  }
  return steps;
}

type Shown = ListEntry | { readonly mark: "…"; readonly count: number };

/** Unchanged items more than `context` away from any change collapse into one line. */
function withListContext(entries: readonly ListEntry[], context: number): Shown[] {
  const changed = entries.flatMap((entry, index) => (entry.mark === " " ? [] : [index]));
  const near = (index: number) => changed.some((at) => Math.abs(at - index) <= context);
  const shown: Shown[] = [];
  let hidden = 0;
  entries.forEach((entry, index) => {
    if (entry.mark === " " && !near(index)) {
      hidden++;
      return;
    }
    if (hidden > 0) shown.push({ mark: "…", count: hidden });
    hidden = 0;
    shown.push(entry);
  });
  if (hidden > 0) shown.push({ mark: "…", count: hidden });
  return shown;
}

function entryLines(entry: Shown): string[] {
  if (entry.mark === "…")
    return [`  ... ${String(entry.count)} unchanged item${entry.count === 1 ? "" : "s"}`];
  const [first = "", ...rest] = stringify([entry.item]).trimEnd().split("\n");
  const note = entry.mark === "~" ? `  # moved from [${String(entry.from)}] to [${String(entry.to)}]` : "";
  return [`${entry.mark} ${first}${note}`, ...rest.map((line) => `${entry.mark} ${line}`)];
}

function colourLine(line: string): string {
  const code = COLOURS[line.slice(0, 1)];
  return code ? `\u001b[${code}m${line}\u001b[0m` : line;
}
