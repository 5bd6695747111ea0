/**
 * `node bench/populate-cli.ts --releases N`: populates the control plane of `npm run cluster:up`
 * (.cluster/) the way the bench does, to profile the exporter by hand against it.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../controlplane/binaries.ts";
import { clusterEnv, readClusterInfo } from "../controlplane/cluster-info.ts";
import { populate } from "./populate.ts";

const { values } = parseArgs({
  options: {
    releases: { type: "string", default: "1000" },
    dir: { type: "string", default: path.join(repoRoot, ".cluster") },
  },
});
const info = readClusterInfo(path.resolve(values.dir));
const result = await populate({
  kubeconfig: info.kubeconfig,
  binDir: info.binDir,
  env: clusterEnv(info),
  releases: Number(values.releases),
  log: (line) => process.stderr.write(`[populate] ${line}\n`),
});
process.stdout.write(
  `${String(result.releases.length)} releases, ${String(result.objects)} objects in ${result.seconds.toFixed(1)} s\n`,
);
