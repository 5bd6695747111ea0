/**
 * The Helm chart as its users meet it: rendered by real helm, and its pod's files laid out on
 * disk as the kubelet would mount them, so that the real exporter runs with exactly the config
 * file, arguments, environment, web config and kubeconfig the chart gives it (there is no
 * kubelet in the test control plane to run the pod itself).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { CHART } from "../../scripts/sync-chart.ts";
import { helm, type HelmMajor } from "./helm.ts";

export { CHART };

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts: { name: string; mountPath: string }[];
  livenessProbe?: { httpGet?: { scheme?: string; path?: string } };
  readinessProbe?: { httpGet?: { scheme?: string; path?: string } };
  startupProbe?: unknown;
  resources: { limits?: { memory?: string } };
  securityContext: Record<string, unknown>;
}

export interface PodSpec {
  containers: Container[];
  volumes: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    [source: string]: unknown;
  }[];
  securityContext: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: { name: string }[];
  topologySpreadConstraints?: unknown[];
}

/** `helm template` of the chart (or `chart`), parsed. */
export async function renderChart(
  args: readonly string[],
  options: { major?: HelmMajor; chart?: string; release?: string; namespace?: string } = {},
): Promise<K8sObject[]> {
  const out = await helm(options.major ?? "v3", [
    "template",
    options.release ?? "t",
    options.chart ?? CHART,
    "-n",
    options.namespace ?? "monitoring",
    ...args,
  ]);
  return parseAllDocuments(out)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** The one object of a kind (and name), or a failure that lists what there is. */
export function only(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  const [first] = found;
  if (found.length !== 1 || first === undefined) {
    const all = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(
      `expected one ${kind}${name ? `/${name}` : ""}, found ${String(found.length)} in: ${all}`,
    );
  }
  return first;
}

export function podSpec(objects: readonly K8sObject[]): PodSpec {
  const deployment = only(objects, "Deployment") as K8sObject & { spec: { template: { spec: PodSpec } } };
  return deployment.spec.template.spec;
}

export function exporterContainer(objects: readonly K8sObject[]): Container {
  const container = podSpec(objects).containers.find((c) => c.name === "exporter");
  if (!container) throw new Error("no exporter container");
  return container;
}

/** Where the chart mounts everything the exporter reads. */
const MOUNT_ROOT = "/etc/helm-drift-exporter";

export interface PodFiles {
  /** Stands in for MOUNT_ROOT. */
  readonly root: string;
  /** The container's args (without `serve`), with mount paths moved under `root`. */
  readonly args: string[];
  /** The container's plain env values. */
  readonly env: Record<string, string>;
  /** The config file the chart rendered, moved under `root`. */
  readonly configFile: string;
}

/**
 * Writes the files the exporter container would see: the ConfigMap, and each Secret volume
 * from the rendered Secrets or from `secrets` (existing Secrets the chart only names), at their
 * mount paths under a temp dir; paths under /etc/helm-drift-exporter in the config file and args
 * are moved there too.
 */
export function podFiles(
  objects: readonly K8sObject[],
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): PodFiles {
  const root = mkdtempSync(path.join(tmpdir(), "hde-pod-"));
  const relocate = (text: string) => text.replaceAll(MOUNT_ROOT, root);
  const pod = podSpec(objects);
  const container = exporterContainer(objects);
  const rendered = new Map(
    objects
      .filter((o) => o.kind === "Secret")
      .map((o) => {
        const data = (o as { data?: Record<string, string> }).data ?? {};
        const decoded = Object.fromEntries(
          Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "base64").toString()]),
        );
        return [o.metadata.name, decoded] as const;
      }),
  );
  for (const mount of container.volumeMounts) {
    const volume = pod.volumes.find((v) => v.name === mount.name);
    const dir = relocate(mount.mountPath);
    mkdirSync(dir, { recursive: true });
    let files: Readonly<Record<string, string>> | undefined;
    if (volume?.configMap) {
      const configMap = only(objects, "ConfigMap", volume.configMap.name) as K8sObject & {
        data: Record<string, string>;
      };
      files = Object.fromEntries(
        Object.entries(configMap.data).map(([key, value]) => [key, relocate(value)]),
      );
    } else if (volume?.secret) {
      const name = volume.secret.secretName;
      files = rendered.get(name) ?? secrets[name];
    }
    if (!files) throw new Error(`volume ${mount.name}: no files for it in this test`);
    for (const [key, content] of Object.entries(files)) writeFileSync(path.join(dir, key), content);
  }
  const args = container.args.filter((arg) => arg !== "serve").map(relocate);
  const configArg = args.find((arg) => arg.startsWith("--config.file="));
  const env = Object.fromEntries(
    (container.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );
  return { root, args, env, configFile: configArg?.slice("--config.file=".length) ?? "" };
}
