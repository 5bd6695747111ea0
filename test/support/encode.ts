/** Test fixtures: encodes a release record exactly as Helm's storage drivers do. */
import { gzipSync } from "node:zlib";

/** Helm's encoding: gzip (best compression), then standard base64. */
export function encodeRelease(record: unknown): string {
  return gzipSync(Buffer.from(JSON.stringify(record)), { level: 9 }).toString("base64");
}

export interface RecordOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly revision?: number;
  readonly status?: string;
  readonly manifest?: string;
  readonly hooks?: unknown[];
  readonly helm4?: boolean;
}

/** A release record shaped like Helm 3 writes it (or Helm 4 with `helm4`). */
export function releaseRecord(options: RecordOptions = {}): Record<string, unknown> {
  const helm4 = options.helm4 ?? false;
  return {
    name: options.name ?? "web",
    namespace: options.namespace ?? "apps",
    version: options.revision ?? 1,
    info: {
      first_deployed: "2026-11-20T10:00:00.123456789Z",
      last_deployed: "2026-11-21T11:30:00.5Z",
      ...(helm4 ? {} : { deleted: "" }),
      description: "Install complete",
      status: options.status ?? "deployed",
      notes: "",
    },
    chart: {
      metadata: { name: "web", version: "1.2.3", appVersion: "4.5.6", apiVersion: "v2" },
      templates: [{ name: "templates/cm.yaml", data: "c2VjcmV0" }],
      values: { password: "chart-default-secret" },
    },
    config: { password: "user-supplied-secret" },
    manifest:
      options.manifest ??
      "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
    hooks: options.hooks ?? [],
    ...(helm4 && { apply_method: "ssa" }),
  };
}

/** A ConfigMap manifest whose nine levels of YAML aliases expand to 9^9 strings ("billion laughs"). */
export function aliasBombManifest(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let level = 1; level < 9; level++) {
    const previous = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(",")}]`);
  }
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n${lines.join("\n")}\n`;
}
