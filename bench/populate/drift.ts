/**
 * Drift after populate, the way a person with kubectl makes it: with real kubectl for the
 * releases made by real helm, and with the same requests kubectl sends (same patch, same
 * field manager) for fast-path releases. The equivalence test checks both give the same
 * objects and managedFields.
 */
import { type Api } from "./kube.ts";
import { type DriftKind } from "./plan.ts";
import { mustRun, type Tools } from "./tools.ts";

export const DRIFT_IMAGE = "registry.example/shop:9.9.9";
export const DRIFT_DB_REPLICAS = 3;

export interface DriftTarget {
  readonly namespace: string;
  readonly name: string;
}

/** The requests kubectl sends for each drift kind. */
export async function driftViaApi(api: Api, release: DriftTarget, kind: DriftKind): Promise<void> {
  const { namespace, name } = release;
  switch (kind) {
    case "set-image": {
      // kubectl set image: a two-way strategic merge patch of the container's image.
      const patch = { spec: { template: { spec: { containers: [{ name: "web", image: DRIFT_IMAGE }] } } } };
      await must(
        api.patch(
          `/apis/apps/v1/namespaces/${namespace}/deployments/${name}-web`,
          "strategic",
          JSON.stringify(patch),
          "kubectl-set",
        ),
      );
      return;
    }
    case "scale":
      // kubectl scale: a merge patch of the scale subresource; no field manager given, so the
      // apiserver names kubectl's user agent ("kubectl/v1.x ...") up to the "/".
      await must(
        api.patch(
          `/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}-db/scale`,
          "merge",
          JSON.stringify({ spec: { replicas: DRIFT_DB_REPLICAS } }),
          "kubectl",
        ),
      );
      return;
    case "edit": {
      // kubectl edit: a two-way strategic merge patch of what was edited.
      const path = `/api/v1/namespaces/${namespace}/configmaps/${name}-config`;
      const live = await api.getJson<{ data?: Record<string, string> }>(path);
      const greeting = editedGreeting(live.data?.greeting ?? "");
      await must(api.patch(path, "strategic", JSON.stringify({ data: { greeting } }), "kubectl-edit"));
      return;
    }
    case "delete":
      // kubectl delete: background propagation.
      await api.must(
        "DELETE",
        `/api/v1/namespaces/${namespace}/services/${name}-nodeport`,
        JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" }),
      );
      return;
  }
}

/** The same drift with real kubectl. */
export async function driftViaKubectl(tools: Tools, release: DriftTarget, kind: DriftKind): Promise<void> {
  const { namespace, name } = release;
  switch (kind) {
    case "set-image":
      await mustRun(tools, "kubectl", [
        "-n",
        namespace,
        "set",
        "image",
        `deployment/${name}-web`,
        `web=${DRIFT_IMAGE}`,
      ]);
      return;
    case "scale":
      await mustRun(tools, "kubectl", [
        "-n",
        namespace,
        "scale",
        "statefulset",
        `${name}-db`,
        `--replicas=${String(DRIFT_DB_REPLICAS)}`,
      ]);
      return;
    case "edit":
      await mustRun(tools, "kubectl", ["-n", namespace, "edit", "configmap", `${name}-config`], {
        KUBE_EDITOR: "sed -i s/greeting:\\ hello-/greeting:\\ edited-/",
      });
      return;
    case "delete":
      await mustRun(tools, "kubectl", ["-n", namespace, "delete", "service", `${name}-nodeport`]);
      return;
  }
}

/** What the edit drift makes of a greeting: hello-3 -> edited-3. */
export function editedGreeting(greeting: string): string {
  return greeting.replace(/^hello-/, "edited-");
}

async function must(response: Promise<{ status: number; text: string }>): Promise<void> {
  const { status, text } = await response;
  if (status < 200 || status > 299) throw new Error(`drift request failed: ${String(status)} ${text}`);
}
