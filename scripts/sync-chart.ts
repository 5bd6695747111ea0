/**
 * `npm run chart:sync`: writes what the chart carries from elsewhere in the repository, which a
 * chart cannot read (it only sees its own files):
 *
 * - files/dashboards/*.json: copies of grafana/*.json;
 * - files/prometheus-rules.yaml: the alert rules of alerts/rules.ts with their @@placeholders@@,
 *   which templates/prometheusrule.yaml fills in from the values;
 * - values.schema.json's `config`: derived from the exporter's options (src/config/options.ts),
 *   so that every flag has a value and no misspelt key gets through; and its `prometheusRule`
 *   groups, alert names and thresholds, from alerts/rules.ts.
 *
 * grafana/, alerts/ and src/config stay the one source of truth; test/integration/chart.test.ts
 * fails when the chart's files differ from what this writes.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import * as prettier from "prettier";
import { ALERT_NAMES, buildTemplate, renderYaml } from "../alerts/generate.ts";
import { GROUPS, THRESHOLDS } from "../alerts/rules.ts";
import { OPTIONS, type OptionSpec } from "../src/config/options.ts";
import { repoRoot } from "../controlplane/binaries.ts";

export const CHART = path.join(repoRoot, "charts/helm-drift-exporter");
const SCHEMA = path.join(CHART, "values.schema.json");

/** Config file keys the chart sets itself, from other values: refused under `config`. */
export const CHART_OWNED_KEYS: ReadonlySet<string> = new Set([
  "kubeconfig",
  "web.listenAddress",
  "web.configFile",
]);

type Schema = Record<string, unknown>;

/** The JSON schema of one option's value in the config file. */
function optionSchema(spec: OptionSpec): Schema {
  const description = spec.description;
  switch (spec.type) {
    case "list":
      return { type: "array", items: { type: "string", minLength: 1 }, description };
    case "duration":
      return { type: "string", pattern: "^([0-9]+(ms|s|m|h))+$", description };
    case "bytes":
      return { type: ["string", "integer"], pattern: "^[0-9]+(k|M|G|Ki|Mi|Gi)?$", minimum: 1, description };
    case "enum": {
      const choices = spec.choices ?? [];
      const boolean = choices.length === 2 && choices.includes("true") && choices.includes("false");
      return boolean ? { type: "boolean", description } : { enum: choices, description };
    }
    case "string":
      // A number given as a string flag (scan.concurrency): YAML writes it as a number.
      return spec.default !== undefined && /^[0-9]+$/.test(spec.default)
        ? { type: ["integer", "string"], pattern: "^[0-9]+$", minimum: 1, description }
        : { type: "string", description };
  }
}

/** drift.ignore: the one key of the config file that is not a flag (see docs/drift.md). */
const IGNORE_RULES: Schema = {
  type: "array",
  description: "drift.ignore rules (docs/drift.md)",
  items: {
    type: "object",
    additionalProperties: false,
    properties: {
      release: { type: "string" },
      namespace: { type: "string" },
      kind: { type: "string" },
      name: { type: "string" },
      paths: { type: "array", items: { type: "string", pattern: "^/" } },
      managers: { type: "array", items: { type: "string" } },
    },
  },
};

/** `config`: one key per option of the config file, nested as in the file, nothing else. */
export function configSchema(): Schema {
  const root: Schema = { type: "object", additionalProperties: false, properties: {} };
  const place = (keys: readonly string[], schema: Schema) => {
    let node = root;
    for (const key of keys.slice(0, -1)) {
      const properties = node.properties as Record<string, Schema>;
      properties[key] ??= { type: "object", additionalProperties: false, properties: {} };
      node = properties[key];
    }
    (node.properties as Record<string, Schema>)[keys.at(-1) ?? ""] = schema;
  };
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    if (spec.command === "scan" || CHART_OWNED_KEYS.has(spec.fileKey.join("."))) continue;
    place(spec.fileKey, optionSchema(spec));
  }
  place(["drift", "ignore"], IGNORE_RULES);
  return root;
}

/** The names prometheusRule's values may use, from alerts/rules.ts. */
function ruleSchemas(rule: { properties: Record<string, Schema> }): void {
  const { groups, alerts, thresholds } = rule.properties;
  if (!groups || !alerts || !thresholds)
    throw new Error("values.schema.json: prometheusRule lacks groups, alerts or thresholds");
  groups.properties = Object.fromEntries(GROUPS.map((g) => [g.name, { type: "boolean" }]));
  alerts.propertyNames = { enum: ALERT_NAMES };
  thresholds.properties = Object.fromEntries(
    Object.keys(THRESHOLDS).map((name) => [name, { type: "number", minimum: 0 }]),
  );
  thresholds.required = Object.keys(THRESHOLDS);
}

async function formatted(file: string, text: string, parser: "json" | "yaml"): Promise<string> {
  const options = await prettier.resolveConfig(file);
  return prettier.format(text, { ...options, parser });
}

/** Every file this writes, with its content. */
export async function chartFiles(): Promise<{ file: string; content: string; source: string }[]> {
  const dashboards = readdirSync(path.join(repoRoot, "grafana")).filter((file) => file.endsWith(".json"));
  const schema = JSON.parse(readFileSync(SCHEMA, "utf8")) as {
    properties: { config: unknown; prometheusRule: { properties: Record<string, Schema> } };
  };
  schema.properties.config = configSchema();
  ruleSchemas(schema.properties.prometheusRule);
  const rules = path.join(CHART, "files", "prometheus-rules.yaml");
  const header = [
    " Generated by `npm run chart:sync` from alerts/rules.ts; do not edit. The @@placeholders@@ are",
    " filled in from the values by templates/prometheusrule.yaml.",
  ].join("\n");
  return [
    {
      file: rules,
      content: await renderYaml(buildTemplate(), header),
      source: "alerts/rules.ts",
    },
    {
      file: SCHEMA,
      content: await formatted(SCHEMA, JSON.stringify(schema), "json"),
      source: "src/config/options.ts",
    },
    ...dashboards.map((file) => ({
      file: path.join(CHART, "files/dashboards", file),
      content: readFileSync(path.join(repoRoot, "grafana", file), "utf8"),
      source: `grafana/${file}`,
    })),
  ];
}

if (process.argv[1] === import.meta.filename) {
  const files = await chartFiles();
  rmSync(path.join(CHART, "files"), { recursive: true, force: true });
  for (const { file, content } of files) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
