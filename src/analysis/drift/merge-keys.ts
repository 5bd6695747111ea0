import { isObject } from "../../util/object.ts";

/**
 * How lists are matched between declared and live objects, after Kubernetes'
 * strategic-merge and server-side-apply list keys. A list not named here is atomic:
 * compared item by item in order.
 */
const KEYS_BY_FIELD: Readonly<Record<string, readonly string[]>> = {
  containers: ["name"],
  initContainers: ["name"],
  ephemeralContainers: ["name"],
  env: ["name"],
  volumes: ["name"],
  imagePullSecrets: ["name"],
  volumeMounts: ["mountPath"],
  volumeDevices: ["devicePath"],
  hostAliases: ["ip"],
  topologySpreadConstraints: ["topologyKey", "whenUnsatisfiable"],
  readinessGates: ["conditionType"],
  schedulingGates: ["name"],
  resourceClaims: ["name"],
  webhooks: ["name"],
};

/** Fields the apiserver fills into list keys when they are left out. */
const KEY_DEFAULTS: Readonly<Record<string, string>> = { protocol: "TCP" };

export function mergeKeys(
  field: string | undefined,
  items: readonly unknown[],
): readonly string[] | undefined {
  if (field === undefined) return undefined;
  if (field === "ports") {
    // Container ports and Service ports share the field name; their items tell them apart.
    const first = items.find((item): item is Record<string, unknown> => isObject(item));
    if (first && "containerPort" in first) return ["containerPort", "protocol"];
    if (first && "port" in first) return ["port", "protocol"];
    return undefined;
  }
  if (field === "versions" && items.every((item) => isObject(item) && typeof item.name === "string"))
    return ["name"];
  return KEYS_BY_FIELD[field];
}

/** The item's key, with server defaults filled in; undefined when a key field is missing. */
export function itemKey(item: unknown, keys: readonly string[]): Record<string, string | number> | undefined {
  if (!isObject(item)) return undefined;
  const key: Record<string, string | number> = {};
  for (const name of keys) {
    const value = item[name] ?? KEY_DEFAULTS[name];
    if (typeof value !== "string" && typeof value !== "number") return undefined;
    key[name] = value;
  }
  return key;
}

export function sameKey(
  a: Readonly<Record<string, string | number>>,
  b: Readonly<Record<string, string | number>>,
): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => String(a[name]) === String(b[name]));
}
