/** A location inside an object: struct fields, keyed list items, atomic list indexes. */
export type PathSegment =
  | { readonly field: string }
  | { readonly key: Readonly<Record<string, string | number>> }
  | { readonly index: number };

export type FieldPath = readonly PathSegment[];

/** `spec.template.spec.containers[name=web].image`, `metadata.labels["app.kubernetes.io/name"]`. */
export function formatPath(path: FieldPath): string {
  let text = "";
  for (const segment of path) {
    if ("field" in segment) {
      text += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment.field)
        ? `${text === "" ? "" : "."}${segment.field}`
        : `[${JSON.stringify(segment.field)}]`;
    } else if ("key" in segment) {
      text += `[${Object.entries(segment.key)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(",")}]`;
    } else {
      text += `[${String(segment.index)}]`;
    }
  }
  return text;
}

/**
 * Ignore pointers are JSON-pointer-like: `/spec/replicas`,
 * `/spec/template/spec/containers/name=web/image`, `*` for any one segment, `~1` for `/`.
 * A pointer matches its path and everything below it.
 */
export function pointerMatches(pointer: string, path: FieldPath): boolean {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (parts.length > path.length) return false;
  return parts.every((part, position) => {
    const segment = path[position];
    if (!segment) return false;
    if (part === "*") return true;
    if ("field" in segment) return part === segment.field;
    if ("index" in segment) return part === String(segment.index);
    return part.split(",").every((pair) => {
      const [name = "", value] = pair.split("=");
      return value !== undefined && String(segment.key[name]) === value;
    });
  });
}

export function isValidPointer(pointer: string): boolean {
  return pointer.startsWith("/") && pointer.length > 1;
}
