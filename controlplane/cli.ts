/** `npm run cluster:up` / `npm run cluster:down`: a control plane in .cluster/ for manual use. */
import path from "node:path";
import { repoRoot } from "./binaries.ts";
import { startCluster, stopCluster } from "./control.ts";

const dir = path.join(repoRoot, ".cluster");
const command = process.argv[2];

if (command === "up") {
  const info = await startCluster({ dir, faults: process.argv.includes("--faults") });
  console.log(`Kubernetes ${info.kubernetesVersion} API server ready at ${info.server}`);
  console.log(`  source .cluster/env   # KUBECONFIG, and helm (v3), helm4, kubectl on PATH`);
  console.log(`  npm run cluster:down  # stop it and remove .cluster/`);
  if (info.faults) console.log(`  fault channel: ${info.faults.url} (controlplane/faults.ts)`);
} else if (command === "down") {
  await stopCluster(dir);
  console.log("control plane stopped, .cluster/ removed");
} else {
  console.error("usage: node controlplane/cli.ts up [--faults] | down");
  process.exit(2);
}
