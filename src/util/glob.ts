/** Globs as the configuration takes them: `*` any run of characters (`/` included), `?` any one; nothing else is special. */
export function globMatches(glob: string | undefined, value: string): boolean {
  if (glob === undefined) return true;
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${pattern}$`).test(value);
}
