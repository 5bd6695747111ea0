import { readFileSync } from "node:fs";

/** The package version, read from package.json beside src/ or dist/ (this file is in their util/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

export const NAME = "helm-drift-exporter";
