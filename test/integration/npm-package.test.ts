/**
 * The npm package as a user gets it: `npm pack` (which compiles dist/ in its prepack script; run
 * on a copy of the sources, so the repository's dist/ is left alone),
 * then `npm install --global` of the tarball into an empty prefix, and the `helm-drift-exporter`
 * command it installs run with `--version`, `scan` and `serve` against the real control plane:
 * on the oldest Node that package.json's `engines` allows and on this project's own Node.
 *
 * That oldest Node comes from the npm registry's node-<platform>-<arch> package (the binary the
 * `node` package installs), cached beside the other pinned binaries.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../../controlplane/binaries.ts";
import { createNamespace } from "../support/cluster.ts";
import type { ScanJson } from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";
import { runProcess } from "../support/processes.ts";

const run = promisify(execFile);
const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  name: string;
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** 22.18.0 from ">=22.18.0": the oldest Node the package says it runs on. */
function oldestNode(): string {
  const version = /^>=\s*(\d+\.\d+\.\d+)$/.exec(manifest.engines.node)?.[1];
  assert.ok(version, `engines.node is not ">=x.y.z": ${manifest.engines.node}`);
  return version;
}

/** That Node's binary: from the npm registry's node-<platform>-<arch> package, cached by version. */
async function nodeBinary(version: string): Promise<string> {
  const cache = path.join(
    process.env.HDE_CACHE_DIR ?? path.join(homedir(), ".cache/helm-drift-exporter"),
    "bin",
  );
  const dir = path.join(cache, `node-v${version}`);
  const binary = path.join(dir, "bin", "node");
  if (existsSync(binary)) return binary;
  const work = mkdtempSync(path.join(tmpdir(), "hde-node-"));
  try {
    const pkg = `node-${process.platform}-${process.arch}@${version}`;
    await run("npm", ["pack", pkg, "--pack-destination", work, "--silent"], { cwd: work });
    const [tarball] = readdirSync(work).filter((file) => file.endsWith(".tgz"));
    assert.ok(tarball, `npm pack ${pkg} gave no tarball`);
    await run("tar", ["xzf", path.join(work, tarball), "-C", work]);
    mkdirSync(cache, { recursive: true });
    renameSync(path.join(work, "package"), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** What `npm pack` reads: the sources it compiles in prepack, the manifest and the files it ships. */
const PACKAGE_SOURCES = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "src",
  "README.md",
  "LICENSE",
  "CHANGELOG.md",
];

interface Installed {
  /** PATH with the Node to use first, then the prefix's bin. */
  readonly path: string;
  readonly packageDir: string;
}

describe("npm package", () => {
  const work = mkdtempSync(path.join(tmpdir(), "hde-npm-"));
  let tarball = "";
  let installed: Installed | undefined;
  let namespace = "";

  before(async () => {
    // From a copy of what the package is made of, so the repository's dist/ is left alone.
    const source = path.join(work, "source");
    mkdirSync(source);
    for (const entry of PACKAGE_SOURCES)
      cpSync(path.join(repoRoot, entry), path.join(source, entry), { recursive: true });
    symlinkSync(path.join(repoRoot, "node_modules"), path.join(source, "node_modules"));
    await run("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: source });
    const [file] = readdirSync(work).filter((name) => name.endsWith(".tgz"));
    assert.ok(file, "npm pack wrote no tarball");
    tarball = path.join(work, file);

    // Into an empty prefix, as `npm install -g` does for a user: only `dependencies`, no build step.
    const prefix = path.join(work, "prefix");
    mkdirSync(prefix);
    await run("npm", [
      "install",
      "--global",
      "--prefix",
      prefix,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      tarball,
    ]);
    installed = {
      path: `${path.join(prefix, "bin")}:${process.env.PATH ?? ""}`,
      packageDir: path.join(prefix, "lib", "node_modules", manifest.name),
    };

    namespace = await createNamespace("npm-package");
    await helm("v4", ["install", "web", fixtureChart("smoke"), "-n", namespace]);
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("holds the compiled dist/, package.json, README, LICENSE and CHANGELOG, and no sources or tests", async () => {
    const { stdout } = await run("tar", ["tzf", tarball]);
    const files = stdout
      .trim()
      .split("\n")
      .map((file) => file.replace(/^package\//, ""));
    for (const required of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "dist/cli/main.js"])
      assert.ok(files.includes(required), `${required} is missing from the package`);
    const unexpected = files.filter(
      (file) =>
        !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.*\.js)$/.test(file) ||
        /\.test\.js$|^dist\/testing\//.test(file),
    );
    assert.deepEqual(unexpected, []);
  });

  it("installs only the runtime dependencies", () => {
    assert.ok(installed);
    const modules = new Set(readdirSync(path.join(installed.packageDir, "node_modules")));
    for (const dependency of Object.keys(manifest.dependencies))
      assert.ok(modules.has(dependency.split("/")[0] ?? dependency), `${dependency} not installed`);
    // A dev dependency may also be a runtime one's dependency (@types/js-yaml is
    // @kubernetes/client-node's); those the lockfile marks dev-only must be absent.
    const lock = JSON.parse(readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(manifest.devDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.dev,
    );
    assert.ok(devOnly.includes("typescript") && devOnly.includes("eslint"), devOnly.join(", "));
    for (const dependency of devOnly)
      assert.ok(
        !existsSync(path.join(installed.packageDir, "node_modules", dependency)),
        `dev dependency ${dependency} installed`,
      );
  });

  for (const which of ["oldest", "own"] as const) {
    describe(`on ${which === "oldest" ? `the oldest Node engines allows (${oldestNode()})` : "the project's Node"}`, () => {
      let env: NodeJS.ProcessEnv = {};

      before(async () => {
        assert.ok(installed);
        const node = which === "oldest" ? await nodeBinary(oldestNode()) : process.execPath;
        env = { ...process.env, PATH: `${path.dirname(node)}:${installed.path}` };
        const { stdout } = await run("node", ["--version"], { env });
        if (which === "oldest") assert.equal(stdout.trim(), `v${oldestNode()}`);
      });

      it("runs helm-drift-exporter --version", async () => {
        const { stdout } = await run("helm-drift-exporter", ["--version"], { env });
        assert.equal(stdout.trim(), `${manifest.name} ${manifest.version}`);
      });

      it("scans the control plane", async () => {
        const scan = await runProcess(
          "helm-drift-exporter",
          ["scan", "--output", "json", "--namespaces", namespace],
          { env },
        );
        assert.equal(scan.code, 0, scan.stderr);
        const json = JSON.parse(scan.stdout) as ScanJson;
        assert.deepEqual(
          json.releases.map((r) => [r.release, r.status, r.drift?.inSync]),
          [["web", "deployed", true]],
        );
      });

      it("serves metrics from its scans and stops on SIGTERM", async () => {
        const child = spawn(
          "helm-drift-exporter",
          ["serve", "--namespaces", namespace, "--web.listen-address", "127.0.0.1:0"],
          { env, stdio: ["ignore", "ignore", "pipe"] },
        );
        let logs = "";
        child.stderr.on("data", (chunk: Buffer) => (logs += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
        try {
          const port = await pollUntil("the exporter to listen", () =>
            Promise.resolve(/"address":"[^"]*:(\d+)"/.exec(logs)?.[1]),
          );
          const url = `http://127.0.0.1:${port}`;
          await pollUntil("the first scan", async () =>
            (await fetch(`${url}/readyz`)).ok ? true : undefined,
          );
          const metrics = await (await fetch(`${url}/metrics`)).text();
          assert.match(
            metrics,
            new RegExp(
              `helm_release_status\\{[^}]*namespace="${namespace}"[^}]*release="web"[^}]*status="deployed"[^}]*\\} 1`,
            ),
          );
          assert.match(
            metrics,
            new RegExp(`helm_drift_exporter_build_info\\{[^}]*version="${manifest.version}"`),
          );
        } finally {
          child.kill("SIGTERM");
        }
        assert.equal(await exited, 0, logs);
      });
    });
  }
});
