import { readFileSync } from "node:fs";
import type { Identity } from "./cluster-info.ts";

/**
 * A kubeconfig with one cluster and a context per identity, the first current. The server can
 * be any address the apiserver's certificate covers (127.0.0.1, localhost): a test's TCP proxy
 * on another port keeps TLS valid.
 */
export function kubeconfigYaml(server: string, caFile: string, identities: readonly Identity[]): string {
  const ca = readFileSync(caFile).toString("base64");
  const lines = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: hde-test",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    ...identities.flatMap((identity) => [
      `- name: ${identity.user}`,
      "  user:",
      `    token: ${identity.token}`,
    ]),
    "contexts:",
    ...identities.flatMap((identity) => [
      `- name: ${identity.context}`,
      "  context:",
      "    cluster: hde-test",
      `    user: ${identity.user}`,
      "    namespace: default",
    ]),
    `current-context: ${identities[0]?.context ?? ""}`,
  ];
  return lines.join("\n") + "\n";
}
