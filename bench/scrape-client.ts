/**
 * The scrapers of a /metrics latency run, in a process of their own, as Prometheus is: run in
 * the bench's process, their timings included that process's garbage collection (the
 * populate's and the floor's hundreds of megabytes), which is no cost of the exporter.
 *
 * `node bench/scrape-client.ts <url> <concurrency> <ratePerSecond> <seconds>` prints one JSON
 * line: each scrape's latency, the gzip bytes of the last one, and this process's own
 * event-loop delay over the run, so a reader can tell the client's stalls from the exporter's.
 */
import http from "node:http";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

export interface ScrapeClientResult {
  /** Milliseconds from when each scrape was due to its last byte, sorted. */
  readonly latenciesMs: number[];
  readonly wireBytes: number;
  /** This process's event-loop delay p99 over the run (ms): its own stalls, counted in every latency. */
  readonly clientDelayP99Ms: number;
}

function scrapeOnce(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { "Accept-Encoding": "gzip" } }, (response) => {
        let bytes = 0;
        response.on("data", (chunk: Buffer) => (bytes += chunk.length));
        response.on("end", () => {
          if ((response.statusCode ?? 0) >= 400) reject(new Error(`${url}: ${String(response.statusCode)}`));
          else resolve(bytes);
        });
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

/**
 * Scrapers on a fixed schedule each, for `seconds`. A scrape's latency runs from when it was
 * due, not from when it could be sent, so a scrape held up behind a slow one is counted as
 * late (no coordinated omission).
 */
export async function scrapeOnSchedule(
  url: string,
  concurrency: number,
  ratePerSecond: number,
  seconds: number,
): Promise<ScrapeClientResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latenciesMs: number[] = [];
  let wireBytes = 0;
  const intervalMs = 1000 / ratePerSecond;
  const perScraper = Math.max(1, Math.round(seconds * ratePerSecond));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const scraper = async (index: number) => {
    // Scrapers start spread over one interval, as independent Prometheus servers do.
    const offset = (index / concurrency) * intervalMs;
    for (let i = 0; i < perScraper; i++) {
      const due = start + offset + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      wireBytes = await scrapeOnce(agent, url);
      latenciesMs.push(performance.now() - due);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => scraper(index)));
  delay.disable();
  agent.destroy();
  return {
    latenciesMs: latenciesMs.sort((a, b) => a - b),
    wireBytes,
    clientDelayP99Ms: delay.percentile(99) / 1e6,
  };
}

if (import.meta.main) {
  const [url, concurrency, rate, seconds] = process.argv.slice(2);
  const numbers = [concurrency, rate, seconds].map(Number);
  if (!url || numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
    console.error("usage: scrape-client.ts <url> <concurrency> <ratePerSecond> <seconds>");
    process.exit(2);
  }
  const [c = 1, r = 1, s = 1] = numbers;
  process.stdout.write(`${JSON.stringify(await scrapeOnSchedule(url, c, r, s))}\n`);
}
