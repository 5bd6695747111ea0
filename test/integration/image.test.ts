/**
 * The container image without a container engine: checks the Dockerfile's properties, then
 * reproduces its runtime layout (package.json, production node_modules, compiled dist/) in a
 * temp dir and runs `--version`, `scan` and `serve` from it against the real control plane.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../../controlplane/binaries.ts";
import { createNamespace } from "../support/cluster.ts";
import type { ScanJson } from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";
import { runProcess, type Exit } from "../support/processes.ts";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.split("\n").filter((line) => !/^\s*#/.test(line));
  const logical = lines.join("\n").replace(/\\\n/g, " ").split("\n");
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^\s*(\w+)\s+(.*\S)\s*$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const keyword = match[1].toUpperCase();
    const args = match[2];
    if (keyword === "FROM") {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(from?.[1], `cannot parse FROM ${args}`);
      stages.push({ image: from[1], name: from[2], instructions: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${keyword} before the first FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function execForm(args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    assert.fail(`not exec (JSON array) form: ${args}`);
  }
  if (!Array.isArray(parsed)) assert.fail(`not exec (JSON array) form: ${args}`);
  const parts: unknown[] = parsed;
  const strings = parts.filter((part): part is string => typeof part === "string");
  assert.equal(strings.length, parts.length, `not exec form: ${args}`);
  return strings;
}

/** `COPY --from=<stage> <src> <dest>` of the final stage, by destination. */
function copiesFrom(stage: Stage): Map<string, { from: string | undefined; source: string }> {
  const copies = new Map<string, { from: string | undefined; source: string }>();
  for (const args of all(stage, "COPY")) {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((word) => !word.startsWith("--"));
    const dest = paths.at(-1) ?? "";
    for (const source of paths.slice(0, -1)) {
      copies.set(path.posix.normalize(dest.endsWith("/") ? dest + path.posix.basename(source) : dest), {
        from,
        source,
      });
    }
  }
  return copies;
}

interface PackageJson {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as PackageJson;
const stages = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
const final: Stage = stages.at(-1) ?? assert.fail("Dockerfile has no FROM");

/** The `npm ci` of the stage the final image takes node_modules from, as argv. */
function prodInstallCommand(): string[] {
  const source = copiesFrom(final).get("node_modules");
  assert.ok(source?.from, "the final stage copies node_modules from another stage");
  const stage = stages.find((candidate) => candidate.name === source.from);
  assert.ok(stage, `no stage named ${source.from}`);
  const installs = all(stage, "RUN").filter((args) => /^npm ci\b/.test(args));
  assert.equal(installs.length, 1, `stage ${source.from} runs npm ci once: ${installs.join(" | ")}`);
  const argv = (installs[0] ?? "").split(/\s+/);
  assert.ok(argv.includes("--omit=dev"), `node_modules of the image come from ${argv.join(" ")}`);
  return argv;
}

/** ENV KEY=VALUE pairs of the final stage. */
function finalEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(final, "ENV")) {
    for (const pair of args.split(/\s+/)) {
      const [key, ...value] = pair.split("=");
      if (key) env[key] = value.join("=");
    }
  }
  return env;
}

function runNode(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  return runProcess(process.execPath, args, { cwd, env });
}

/** Every file under dir with its size and mtime: proves a run wrote nothing there. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      const stat = statSync(file, { throwIfNoEntry: false });
      return `${path.relative(dir, file)} ${String(stat?.size)} ${String(stat?.mtimeMs)}`;
    })
    .sort();
}

describe("container image", () => {
  it("Dockerfile: multi-stage, pinned bases, production deps only, non-root, exec form", () => {
    assert.ok(stages.length >= 2, `multi-stage: ${String(stages.length)} FROM`);
    const names = new Set<string>();
    for (const stage of stages) {
      if (!names.has(stage.image)) {
        assert.doesNotMatch(stage.image, /:latest\b/, `${stage.image} is not pinned`);
        const tag = /^node:(\d+\.\d+\.\d+)(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$/.exec(stage.image);
        assert.ok(tag, `${stage.image}: base image pinned to an exact node:X.Y.Z tag`);
        assert.equal(tag[1], pkg.devDependencies.node, "the image runs the Node the project pins");
      }
      if (stage.name) names.add(stage.name);
    }

    const users = all(final, "USER");
    const user = /^(\d+)(?::(\d+))?$/.exec(users.at(-1) ?? "");
    assert.ok(user?.[1], `final stage runs as a numeric user: USER ${users.join(", ")}`);
    assert.notEqual(Number(user[1]), 0, "non-root uid");
    if (user[2] !== undefined) assert.notEqual(Number(user[2]), 0, "non-root gid");

    const entrypoint = all(final, "ENTRYPOINT");
    assert.equal(entrypoint.length, 1);
    const argv = execForm(entrypoint[0] ?? "");
    assert.equal(argv[0], "node");
    assert.equal(argv.at(-1), pkg.bin["helm-drift-exporter"]);
    assert.ok(
      argv.slice(1, -1).every((arg) => arg.startsWith("--")),
      `only node flags before the entry point: ${argv.join(" ")}`,
    );
    assert.deepEqual(
      all(final, "CMD").map((cmd) => execForm(cmd)),
      [["serve"]],
    );
    // `kubectl exec deploy/<exporter> -- helm-drift-exporter diagnose ...` (the runbooks' first step).
    const bin = pkg.bin["helm-drift-exporter"];
    assert.ok(
      all(final, "RUN").some((run) => run.includes(`ln -s /app/${bin} /usr/local/bin/helm-drift-exporter`)),
      "helm-drift-exporter on PATH",
    );
    assert.match(readFileSync(path.join(repoRoot, "src/cli/main.ts"), "utf8"), /^#!\/usr\/bin\/env node\n/);
    for (const stage of stages) {
      for (const instruction of stage.instructions.filter((i) => /^(SHELL|HEALTHCHECK)$/.test(i.keyword)))
        assert.fail(`${instruction.keyword} would need a shell or tool at run time`);
    }

    prodInstallCommand();
    const copies = copiesFrom(final);
    assert.deepEqual([...copies.keys()].sort(), ["dist", "node_modules", "package.json"]);
    const dist = copies.get("dist");
    assert.ok(
      dist?.from && dist.from !== copies.get("node_modules")?.from,
      "dist comes from the build stage",
    );
    assert.equal(finalEnv().NODE_ENV, "production");
    assert.deepEqual(all(final, "EXPOSE"), ["9877"]);
  });

  describe("built output, as laid out in the image", () => {
    let app = "";
    let env: NodeJS.ProcessEnv = {};
    let filesBefore: string[] = [];
    let namespace = "";

    before(async () => {
      app = mkdtempSync(path.join(tmpdir(), "hde-image-"));
      copyFileSync(path.join(repoRoot, "package.json"), path.join(app, "package.json"));
      copyFileSync(path.join(repoRoot, "package-lock.json"), path.join(app, "package-lock.json"));
      const [npm, ...npmArgs] = prodInstallCommand();
      await Promise.all([
        // The prod-deps stage's own command, with the machine's npm.
        runIn(npm ?? "npm", npmArgs, app, {
          npm_config_audit: "false",
          npm_config_fund: "false",
          npm_config_update_notifier: "false",
          npm_config_prefer_offline: "true",
        }),
        // The build stage's compile, into the temp dir (the repository's dist/ is left alone).
        runIn(
          process.execPath,
          [
            "node_modules/typescript/bin/tsc",
            "-p",
            "tsconfig.build.json",
            "--outDir",
            path.join(app, "dist"),
          ],
          repoRoot,
        ),
      ]);
      // The image has no package-lock.json: only what the final stage copies.
      rmSync(path.join(app, "package-lock.json"));
      env = {
        ...process.env,
        ...finalEnv(),
        // As in the image: no writable home or temp dir.
        HOME: path.join(app, "no-home"),
        TMPDIR: path.join(app, "no-tmp"),
      };
      namespace = await createNamespace("image");
      await helm("v3", ["install", "shop", fixtureChart("smoke"), "-n", namespace]);
      filesBefore = tree(app);
    });

    after(() => {
      if (app) rmSync(app, { recursive: true, force: true });
    });

    it("has exactly the production dependency tree: no devDependency, no tooling", () => {
      const lock = JSON.parse(readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {
        packages: Record<string, { dev?: boolean; optional?: boolean }>;
      };
      const installed = (location: string) => existsSync(path.join(app, location, "package.json"));
      const entries = Object.entries(lock.packages).filter(([location]) => location !== "");
      const dev = entries.filter(([, entry]) => entry.dev).map(([location]) => location);
      const prod = entries.filter(([, entry]) => !entry.dev && !entry.optional).map(([location]) => location);
      assert.deepEqual(dev.filter(installed), [], "devDependencies (and only theirs) are installed");
      assert.deepEqual(
        prod.filter((location) => !installed(location)),
        [],
        "production dependencies are missing",
      );
      // @types/node stays: @kubernetes/client-node depends on it. The tools must not.
      for (const name of ["typescript", "eslint", "prettier", "node", "typescript-eslint", "pino-pretty"])
        assert.ok(!existsSync(path.join(app, "node_modules", name)), `${name} is installed`);
      assert.ok(!existsSync(path.join(app, "node_modules/.bin/node")), "no bundled node binary");
      assert.ok(
        !readdirSync(path.join(app, "dist"), { recursive: true }).some((f) => String(f).endsWith(".test.js")),
        "no compiled tests",
      );
    });

    it("prints its version", async () => {
      const result = await runNode([pkg.bin["helm-drift-exporter"] ?? "", "--version"], app, env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `helm-drift-exporter ${pkg.version}\n`);
    });

    it("scans the cluster", async () => {
      const result = await runNode(
        ["dist/cli/main.js", "scan", "--output", "json", "--namespaces", namespace],
        app,
        env,
      );
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      const json = JSON.parse(result.stdout) as ScanJson;
      assert.deepEqual(
        json.releases.map((r) => [r.release, r.status, r.drift?.inSync]),
        [["shop", "deployed", true]],
      );
    });

    it("serves /healthz, /readyz and /metrics, and stops on SIGTERM", async () => {
      const child = spawn(
        process.execPath,
        ["dist/cli/main.js", "serve", "--web.listen-address", "127.0.0.1:0", "--namespaces", namespace],
        { cwd: app, env, stdio: ["ignore", "ignore", "pipe"] },
      );
      let logs = "";
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.stderr.on("data", (chunk: Buffer) => {
            logs += chunk.toString();
            const port = /"address":"[^"]*:(\d+)"/.exec(logs)?.[1];
            if (port) resolve(`http://127.0.0.1:${port}`);
          });
          void exited.then((code) => {
            reject(new Error(`exited (${String(code)}) before listening:\n${logs}`));
          });
        });
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
        await pollUntil("the first scan", async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(
          metrics,
          new RegExp(`helm_release_status\\{namespace="${namespace}",release="shop",status="deployed"\\} 1`),
        );
      } finally {
        child.kill("SIGTERM");
      }
      assert.equal(await exited, 0, `exit on SIGTERM:\n${logs}`);
      assert.match(logs, /"msg":"stopped"/);
    });

    it("wrote nothing to its directory", () => {
      assert.deepEqual(tree(app), filesBefore);
    });
  });
});

/** Runs a command to completion in cwd; rejects with its output unless it exits 0. */
function runIn(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<Exit>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new Error(`${command} ${args.join(" ")} exited ${String(code)}:\n${stdout}${stderr}`));
    });
  });
}
