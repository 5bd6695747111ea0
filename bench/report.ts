/**
 * Turns the bench's measurements into ratios, target verdicts and agreement, as a
 * markdown table and JSON. Every ratio compares figures measured in the same run.
 */
import type { DiffLoopResult, FloorResult } from "./baselines.ts";
import type { ScanReading, ScrapeResult } from "./exporter-probe.ts";

export interface SizeResult {
  readonly releases: number;
  readonly objects: number;
  readonly releaseSecrets: number;
  readonly populateSeconds: number;
  readonly populatedDrifted: number;
  readonly populatedFailed: number;
  readonly floor: FloorResult;
  readonly cold: ScanReading;
  readonly warm: readonly ScanReading[];
  /** One run of scrapes per number of concurrent scrapers. */
  readonly scrapes: readonly ScrapeResult[];
  readonly peakRssBytes: number;
  readonly kubectlDiff: DiffLoopResult;
  readonly helmDiff: DiffLoopResult;
  readonly exporterReleases: number;
  /** namespace/release the exporter reports drifted. */
  readonly exporterDrifted: readonly string[];
  /** What populate did to each release. */
  readonly truth: readonly { key: string; drifted: boolean; failed: boolean }[];
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};
// The table says MB: mebibytes (1024 x 1024 bytes), as RSS is usually read.
const mb = (bytes: number) => bytes / 1024 / 1024;
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

interface Agreement {
  readonly compared: number;
  readonly agree: number;
  readonly errors: number;
  readonly disagreements: readonly { release: string; exporter: boolean; other: boolean; failed: boolean }[];
}

function loopAgreement(result: SizeResult, loop: DiffLoopResult): Agreement {
  const drifted = new Set(result.exporterDrifted);
  const failed = new Set(result.truth.filter((t) => t.failed).map((t) => t.key));
  const disagreements: { release: string; exporter: boolean; other: boolean; failed: boolean }[] = [];
  let compared = 0;
  let errors = 0;
  for (const release of loop.perRelease) {
    const key = `${release.namespace}/${release.name}`;
    if (release.drifted === "error") {
      errors++;
      continue;
    }
    compared++;
    if (drifted.has(key) !== release.drifted)
      disagreements.push({
        release: key,
        exporter: drifted.has(key),
        other: release.drifted,
        failed: failed.has(key),
      });
  }
  return { compared, agree: compared - disagreements.length, errors, disagreements };
}

function truthAgreement(result: SizeResult): Agreement {
  const drifted = new Set(result.exporterDrifted);
  const disagreements = result.truth
    .filter((t) => drifted.has(t.key) !== t.drifted)
    .map((t) => ({ release: t.key, exporter: drifted.has(t.key), other: t.drifted, failed: t.failed }));
  return {
    compared: result.truth.length,
    agree: result.truth.length - disagreements.length,
    errors: 0,
    disagreements,
  };
}

export function summarize(result: SizeResult) {
  const warmSeconds = median(result.warm.map((w) => w.seconds));
  const warmRequests = median(result.warm.map((w) => w.requestCount));
  const warmBytes = median(result.warm.map((w) => w.bytes));
  const perRelease = (loop: DiffLoopResult) => (loop.releases > 0 ? loop.seconds / loop.releases : NaN);
  const kubectlPerRelease = perRelease(result.kubectlDiff);
  const kubectlAll = kubectlPerRelease * result.releases;
  const helmAll = result.helmDiff.available ? perRelease(result.helmDiff) * result.releases : NaN;
  return {
    releases: result.releases,
    objects: result.objects,
    releaseSecrets: result.releaseSecrets,
    populateSeconds: result.populateSeconds,
    floor: { seconds: result.floor.seconds, requests: result.floor.requests, bytes: result.floor.bytes },
    exporter: {
      coldSeconds: result.cold.seconds,
      coldRequests: result.cold.requestCount,
      coldRequestsByVerb: result.cold.requests,
      coldBytes: result.cold.bytes,
      warmSeconds,
      warmRequests,
      warmRequestsByVerb: result.warm.map((w) => w.requests),
      warmBytes,
      openWatches: result.cold.openWatches,
      peakRssBytes: result.peakRssBytes,
      rssAfterWarmBytes: result.warm.at(-1)?.rssBytes ?? 0,
      scrapes: result.scrapes,
    },
    ratios: {
      coldOverFloor: result.cold.seconds / result.floor.seconds,
      coldBytesOverFloorBytes: result.cold.bytes / result.floor.bytes,
      kubectlDiffLoopOverCold: kubectlAll / result.cold.seconds,
      kubectlDiffLoopOverWarm: kubectlAll / warmSeconds,
      helmDiffLoopOverCold: helmAll / result.cold.seconds,
    },
    kubectlDiff: {
      sampled: result.kubectlDiff.releases,
      sampleSeconds: result.kubectlDiff.seconds,
      perReleaseSeconds: kubectlPerRelease,
      extrapolatedSeconds: kubectlAll,
      agreement: loopAgreement(result, result.kubectlDiff),
    },
    helmDiff: result.helmDiff.available
      ? {
          sampled: result.helmDiff.releases,
          sampleSeconds: result.helmDiff.seconds,
          extrapolatedSeconds: helmAll,
          agreement: loopAgreement(result, result.helmDiff),
        }
      : { available: false, reason: result.helmDiff.unavailableReason ?? "" },
    truth: {
      drifted: result.populatedDrifted,
      failed: result.populatedFailed,
      exporterReleases: result.exporterReleases,
      exporterDrifted: result.exporterDrifted.length,
      agreement: truthAgreement(result),
    },
    targets: {
      coldWithin2xFloor: result.cold.seconds <= 2 * result.floor.seconds,
      warmReadsNothingAgain: result.warm.every(
        (w) => !Object.keys(w.requests).some((k) => /^(list|get) /.test(k)),
      ),
      atLeast50xFasterThanKubectlDiff: kubectlAll / result.cold.seconds >= 50,
      peakRssUnder300MB: result.peakRssBytes < 300 * 1024 * 1024,
      metricsP99Under10ms: result.scrapes.every((scrape) => scrape.p99Ms < 10),
    },
  };
}

export function markdownReport(results: readonly SizeResult[], machine: Record<string, unknown>) {
  const summaries = results.map(summarize);
  const rows: [string, (s: ReturnType<typeof summarize>) => string][] = [
    ["objects / release Secrets", (s) => `${String(s.objects)} / ${String(s.releaseSecrets)}`],
    ["populate (s)", (s) => fixed(s.populateSeconds, 1)],
    [
      "floor: raw LISTs, kubectl get --raw (s / requests / MB)",
      (s) => `${fixed(s.floor.seconds)} / ${String(s.floor.requests)} / ${fixed(mb(s.floor.bytes), 1)}`,
    ],
    ["exporter cold scan (s)", (s) => fixed(s.exporter.coldSeconds)],
    ["cold / floor", (s) => `${fixed(s.ratios.coldOverFloor)}x`],
    [
      "cold: requests / MB read",
      (s) => `${String(s.exporter.coldRequests)} / ${fixed(mb(s.exporter.coldBytes), 1)}`,
    ],
    ["warm scan, unchanged cluster (s, median)", (s) => fixed(s.exporter.warmSeconds, 3)],
    [
      "warm: requests / KB read (median)",
      (s) => `${String(s.exporter.warmRequests)} / ${fixed(s.exporter.warmBytes / 1024, 1)}`,
    ],
    ["open watches", (s) => String(s.exporter.openWatches)],
    ["peak memory, as a container is charged (MB)", (s) => fixed(mb(s.exporter.peakRssBytes), 0)],
    ["peak memory per release (KB)", (s) => fixed(s.exporter.peakRssBytes / 1024 / s.releases, 1)],
    [
      "/metrics size (MB; gzip on the wire)",
      (s) =>
        `${fixed(mb(s.exporter.scrapes[0]?.bodyBytes ?? 0), 2)} (${fixed(mb(s.exporter.scrapes[0]?.wireBytes ?? 0), 2)})`,
    ],
    [
      "/metrics p50 / p99 (ms), by concurrent scrapers",
      (s) =>
        s.exporter.scrapes
          .map((scrape) => `${String(scrape.concurrency)}: ${fixed(scrape.p50Ms)} / ${fixed(scrape.p99Ms)}`)
          .join(", "),
    ],
    [
      "/metrics: scrapes (scans finished meanwhile), by concurrent scrapers",
      (s) =>
        s.exporter.scrapes
          .map(
            (scrape) =>
              `${String(scrape.concurrency)}: ${String(scrape.scrapes)} (${String(scrape.scansDuring)})`,
          )
          .join(", "),
    ],
    [
      "/metrics: the scrape client's own event-loop delay p99 (ms), by concurrent scrapers",
      (s) =>
        s.exporter.scrapes
          .map((scrape) => `${String(scrape.concurrency)}: ${fixed(scrape.clientDelayP99Ms)}`)
          .join(", "),
    ],
    [
      "kubectl diff loop (s/release, sample)",
      (s) => `${fixed(s.kubectlDiff.perReleaseSeconds)} (${String(s.kubectlDiff.sampled)})`,
    ],
    ["kubectl diff loop, all releases (s, extrapolated)", (s) => fixed(s.kubectlDiff.extrapolatedSeconds, 0)],
    ["kubectl diff loop / exporter cold", (s) => `${fixed(s.ratios.kubectlDiffLoopOverCold, 0)}x`],
    ["kubectl diff loop / exporter warm", (s) => `${fixed(s.ratios.kubectlDiffLoopOverWarm, 0)}x`],
    [
      "helm diff loop / exporter cold",
      (s) => ("available" in s.helmDiff ? "unavailable" : `${fixed(s.ratios.helmDiffLoopOverCold, 0)}x`),
    ],
    [
      "agrees with kubectl diff (releases)",
      (s) => `${String(s.kubectlDiff.agreement.agree)}/${String(s.kubectlDiff.agreement.compared)}`,
    ],
    [
      "agrees with what populate did (releases)",
      (s) => `${String(s.truth.agreement.agree)}/${String(s.truth.agreement.compared)}`,
    ],
  ];
  const header = `| | ${summaries.map((s) => `${String(s.releases)} releases`).join(" | ")} |\n|---|${summaries.map(() => "---:").join("|")}|\n`;
  const body = rows.map(([name, cell]) => `| ${name} | ${summaries.map(cell).join(" | ")} |`).join("\n");
  const targets = summaries
    .map(
      (s) =>
        `- ${String(s.releases)} releases: ${Object.entries(s.targets)
          .map(([k, v]) => `${k} ${v ? "met" : "MISSED"}`)
          .join(", ")}`,
    )
    .join("\n");
  const helm = summaries.find((s) => "available" in s.helmDiff)?.helmDiff;
  const notes = [
    `Machine: ${JSON.stringify(machine)}`,
    helm && "reason" in helm ? `helm-diff: unavailable: ${helm.reason}` : "",
  ]
    .filter(Boolean)
    .join("\n\n");
  const disagreements = summaries
    .flatMap((s) =>
      s.kubectlDiff.agreement.disagreements
        .slice(0, 10)
        .map(
          (d) =>
            `- ${String(s.releases)}: ${d.release}: exporter ${d.exporter ? "drifted" : "in sync"}, kubectl diff ${d.other ? "drifted" : "in sync"}${d.failed ? " (latest revision failed)" : ""}`,
        ),
    )
    .join("\n");
  return {
    markdown: `${header}${body}\n\nTargets:\n${targets}\n\n${disagreements ? `Disagreements with kubectl diff:\n${disagreements}\n\n` : ""}${notes}\n`,
    json: { sizes: summaries, raw: results },
  };
}
