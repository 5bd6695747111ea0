/**
 * Reads kubeconfig files as kubectl does (client-go's tools/clientcmd): YAML 1.1 scalars
 * (`yes` is true, as sigs.k8s.io/yaml's go-yaml v2 reads them), several files in $KUBECONFIG
 * merged with the first definition of a name winning, relative paths resolved against the
 * file that names them, and the selected context validated as `ConfirmUsable` does. What it
 * returns is the selected context's cluster and user entries; ./auth.ts decides who applies them.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";

export type Entry = Readonly<Record<string, unknown>>;

export interface KubeconfigSelection {
  /** The files read, in precedence order. */
  readonly files: readonly string[];
  readonly contextName: string;
  readonly clusterName: string;
  readonly userName: string;
  readonly context: Entry;
  /** With `certificate-authority` made absolute. */
  readonly cluster: Entry;
  /** With `client-certificate`, `client-key`, `tokenFile` (and an exec command with a path) made absolute. */
  readonly user: Entry;
}

/** How a key's value is typed in client-go's api/v1 types.go; kubectl refuses a value of another type. */
type KeyType = "string" | "bool" | "base64" | "strings" | "stringLists" | "object";

/** Every key of client-go's v1 Cluster, AuthInfo and Context, with its type. */
export const CLUSTER_KEYS: Readonly<Record<string, KeyType>> = {
  server: "string",
  "tls-server-name": "string",
  "insecure-skip-tls-verify": "bool",
  "certificate-authority": "string",
  "certificate-authority-data": "base64",
  "proxy-url": "string",
  "disable-compression": "bool",
  extensions: "object",
};
export const USER_KEYS: Readonly<Record<string, KeyType>> = {
  "client-certificate": "string",
  "client-certificate-data": "base64",
  "client-key": "string",
  "client-key-data": "base64",
  token: "string",
  tokenFile: "string",
  as: "string",
  "as-uid": "string",
  "as-groups": "strings",
  "as-user-extra": "stringLists",
  username: "string",
  password: "string",
  "auth-provider": "object",
  exec: "object",
  extensions: "object",
};
export const CONTEXT_KEYS: Readonly<Record<string, KeyType>> = {
  cluster: "string",
  user: "string",
  namespace: "string",
  extensions: "object",
};

const isEntry = (value: unknown): value is Entry =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A string key's value, "" and null read as absent (client-go tests `len(x) == 0`). */
export function text(entry: Entry, key: string): string | undefined {
  const value = entry[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Where the kubeconfig comes from, to name it in errors. */
interface Source {
  readonly files: readonly string[];
  readonly from: string;
}

export const HOME_KUBECONFIG = (): string => path.join(os.homedir(), ".kube", "config");

/**
 * The kubeconfig files to read: --kubeconfig, else $KUBECONFIG (a list), else ~/.kube/config;
 * undefined when none is set and ~/.kube/config does not exist (in-cluster then).
 */
export function kubeconfigSource(explicit: string | undefined): Source | undefined {
  if (explicit) return { files: [explicit], from: "--kubeconfig" };
  const fromEnv = (process.env.KUBECONFIG ?? "").split(path.delimiter).filter((file) => file !== "");
  if (fromEnv.length > 0) return { files: fromEnv, from: "$KUBECONFIG" };
  const home = HOME_KUBECONFIG();
  return existsSync(home) ? { files: [home], from: "~/.kube/config" } : undefined;
}

interface Named {
  readonly entry: Entry;
  /** The directory of the file that defined it: its relative paths are relative to that. */
  readonly base: string;
}

interface Merged {
  readonly clusters: Map<string, Named>;
  readonly users: Map<string, Named>;
  readonly contexts: Map<string, Named>;
  currentContext: string | undefined;
}

/** Reads and merges the files; a missing file is skipped (client-go's rule) unless all are. */
function readMerged(source: Source): { merged: Merged; files: string[] } {
  const merged: Merged = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
  };
  const files = source.files.filter((file) => existsSync(file));
  if (files.length === 0) {
    const names = source.files.join(", ");
    throw new Error(`kubeconfig ${names} (from ${source.from}) does not exist`);
  }
  for (const file of files) {
    const document: unknown = parse(readFileSync(file, "utf8"), { version: "1.1" });
    if (document === null || document === undefined) continue; // an empty file is an empty config
    if (!isEntry(document)) throw new Error(`kubeconfig ${file} is not a kubeconfig (not a mapping)`);
    const base = path.dirname(path.resolve(file));
    mergeList(merged.clusters, document, "clusters", "cluster", base, file);
    mergeList(merged.users, document, "users", "user", base, file);
    mergeList(merged.contexts, document, "contexts", "context", base, file);
    const current = document["current-context"];
    if (merged.currentContext === undefined && typeof current === "string" && current !== "")
      merged.currentContext = current;
  }
  return { merged, files };
}

/** The first file to define a name wins, as client-go merges. */
function mergeList(
  into: Map<string, Named>,
  document: Entry,
  list: string,
  field: string,
  base: string,
  file: string,
): void {
  const items = document[list];
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw new Error(`kubeconfig ${file}: ${list} is not a list`);
  for (const item of items as unknown[]) {
    if (!isEntry(item) || typeof item.name !== "string")
      throw new Error(`kubeconfig ${file}: an entry of ${list} has no name`);
    if (into.has(item.name)) continue;
    const entry = item[field] ?? {};
    if (!isEntry(entry))
      throw new Error(`kubeconfig ${file}: ${list}[${item.name}].${field} is not a mapping`);
    into.set(item.name, { entry, base });
  }
}

/** Selects the context (--context, else current-context) and checks it is usable, as kubectl would. */
export function readKubeconfig(source: Source, contextOverride: string | undefined): KubeconfigSelection {
  const { merged, files } = readMerged(source);
  const where = `kubeconfig ${files.join(", ")}`;
  const contextName = contextOverride ?? merged.currentContext;
  const known = [...merged.contexts.keys()].join(", ") || "none";
  if (!contextName)
    throw new Error(`${where} has no current-context; name one with --context (contexts: ${known})`);
  const context = merged.contexts.get(contextName)?.entry;
  if (!context) {
    const origin = contextOverride ? "--context" : "current-context";
    throw new Error(`${where} has no context ${JSON.stringify(contextName)} (${origin}; contexts: ${known})`);
  }
  const ref = (key: string, list: Map<string, Named>) => {
    const name = context[key];
    if (typeof name !== "string" || name === "")
      throw new Error(`${where}: ${key} was not specified for context ${JSON.stringify(contextName)}`);
    const named = list.get(name);
    if (!named)
      throw new Error(
        `${where}: ${key} ${JSON.stringify(name)} was not found for context ${JSON.stringify(contextName)}`,
      );
    return { name, named };
  };
  const cluster = ref("cluster", merged.clusters);
  const user = ref("user", merged.users);
  checkTypes(`${where}: contexts[${contextName}].context`, context, CONTEXT_KEYS);
  checkTypes(`${where}: clusters[${cluster.name}].cluster`, cluster.named.entry, CLUSTER_KEYS);
  checkTypes(`${where}: users[${user.name}].user`, user.named.entry, USER_KEYS);
  const selection: KubeconfigSelection = {
    files,
    contextName,
    clusterName: cluster.name,
    userName: user.name,
    context,
    cluster: resolvePaths(cluster.named, ["certificate-authority"]),
    user: resolveUserPaths(user.named),
  };
  confirmUsable(where, selection);
  return selection;
}

/** A value of the wrong type fails kubectl's decoding; it fails here too, naming the key. */
function checkTypes(where: string, entry: Entry, schema: Readonly<Record<string, KeyType>>): void {
  for (const [key, value] of Object.entries(entry)) {
    const type = schema[key];
    if (type === undefined || value === null) continue; // unknown keys are the caller's call; null is Go's zero value
    if (!hasType(value, type)) throw new Error(`${where}.${key}: expected ${describe(type)}`);
  }
}

function hasType(value: unknown, type: KeyType): boolean {
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === "string");
  switch (type) {
    case "string":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
    case "base64":
      // encoding/json decodes []byte with StdEncoding: padded, and it skips only \r and \n.
      return (
        typeof value === "string" &&
        /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value.replace(/[\r\n]/g, ""))
      );
    case "strings":
      return strings(value);
    case "stringLists":
      return isEntry(value) && Object.values(value).every((list) => list === null || strings(list));
    case "object":
      return isEntry(value);
  }
}

function describe(type: KeyType): string {
  switch (type) {
    case "string":
      return "a string";
    case "bool":
      return "true or false";
    case "base64":
      return "base64 data";
    case "strings":
      return "a list of strings";
    case "stringLists":
      return "a map of lists of strings";
    case "object":
      return "a mapping";
  }
}

function resolvePaths(named: Named, keys: readonly string[]): Entry {
  const entry: Record<string, unknown> = { ...named.entry };
  for (const key of keys) {
    const value = text(entry, key);
    if (value !== undefined) entry[key] = path.resolve(named.base, value);
  }
  return entry;
}

function resolveUserPaths(named: Named): Entry {
  const user: Record<string, unknown> = resolvePaths(named, [
    "client-certificate",
    "client-key",
    "tokenFile",
  ]);
  const exec = user.exec;
  // client-go resolves an exec command only when it is a path, never one looked up in $PATH.
  if (isEntry(exec) && typeof exec.command === "string" && exec.command.includes(path.sep))
    user.exec = { ...exec, command: path.resolve(named.base, exec.command) };
  return user;
}

/** The checks of client-go's ConfirmUsable that decide what is sent: both data and file, two methods. */
function confirmUsable(where: string, selection: KubeconfigSelection): void {
  const { cluster, user, clusterName, userName } = selection;
  const errors: string[] = [];
  const both = (entry: Entry, file: string, data: string) =>
    text(entry, file) !== undefined && text(entry, data) !== undefined;
  if (!text(cluster, "server")) errors.push(`no server found for cluster ${JSON.stringify(clusterName)}`);
  if (both(cluster, "certificate-authority", "certificate-authority-data"))
    errors.push(`certificate-authority-data and certificate-authority are both specified for ${clusterName}`);
  if (both(user, "client-certificate", "client-certificate-data"))
    errors.push(`client-cert-data and client-cert are both specified for ${userName}`);
  if (both(user, "client-key", "client-key-data"))
    errors.push(`client-key-data and client-key are both specified for ${userName}`);
  const hasCert = text(user, "client-certificate") ?? text(user, "client-certificate-data");
  if (hasCert && !text(user, "client-key") && !text(user, "client-key-data"))
    errors.push(
      `client-key-data or client-key must be specified for ${userName} to use the clientCert authentication method`,
    );
  if (text(user, "token") && (text(user, "username") ?? text(user, "password")))
    errors.push(
      `more than one authentication method found for ${userName}; found [token basicAuth], only one is allowed`,
    );
  if (isEntry(user.exec) && isEntry(user["auth-provider"]))
    errors.push(`authProvider cannot be provided in combination with an exec plugin for ${userName}`);
  const impersonatesMore =
    text(user, "as-uid") !== undefined ||
    (Array.isArray(user["as-groups"]) && user["as-groups"].length > 0) ||
    (isEntry(user["as-user-extra"]) && Object.keys(user["as-user-extra"]).length > 0);
  if (impersonatesMore && !text(user, "as"))
    errors.push(`requesting uid, groups or user-extra for ${userName} without impersonating a user`);
  for (const [key, file] of [
    ["certificate-authority", text(cluster, "certificate-authority")],
    ["client-certificate", text(user, "client-certificate")],
    ["client-key", text(user, "client-key")],
  ] as const) {
    if (file !== undefined && !existsSync(file))
      errors.push(`unable to read ${key} ${file}: it does not exist`);
  }
  if (errors.length > 0) throw new Error(`${where} is invalid: ${errors.join("; ")}`);
}
