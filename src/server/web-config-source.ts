/**
 * The web config in effect, re-read when its file or a file it names changes: exporter-toolkit
 * reads the file again for every request and every TLS handshake, so rotated certificates and
 * changed users apply at once. Here a stat tells whether anything changed (the config file per
 * request; it and the certificate files per connection), and only a change re-reads. A file
 * that no longer loads keeps the last good config and is logged once per change.
 */
import { statSync } from "node:fs";
import type { Logger } from "../log/logger.ts";
import { loadWebConfig, type WebConfig } from "./web-config.ts";
import { errorMessage } from "../util/errors.ts";

export class WebConfigSource {
  readonly path: string;
  /** What only a restart changes, as in exporter-toolkit: TLS on or off, HTTP/2, the rate limit. */
  readonly initial: WebConfig;
  readonly #logger: Logger;
  #current: WebConfig;
  /** The stat of each file read for the last load, good or not. */
  #seen: Map<string, string>;
  readonly #listeners: ((config: WebConfig) => void)[] = [];

  /** Throws WebConfigError when the file does not load. */
  constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
    const seen = signatures([path]);
    this.initial = loadWebConfig(path);
    this.#current = this.initial;
    this.#seen = withNewFiles(seen, this.initial);
  }

  /** The config in effect, without checking the files. */
  get current(): WebConfig {
    return this.#current;
  }

  /** The config for a request: checks the config file (users, headers). */
  forRequest(): WebConfig {
    return this.#refresh([this.path]);
  }

  /** The config for a new connection: checks the config file and the TLS files it names. */
  forConnection(): WebConfig {
    return this.#refresh(this.#current.files);
  }

  /** Called with each new config that took effect. */
  onChange(listener: (config: WebConfig) => void): void {
    this.#listeners.push(listener);
  }

  #refresh(files: readonly string[]): WebConfig {
    if (files.every((file) => this.#seen.get(file) === signature(file))) return this.#current;
    // Stat before reading: a write that lands during the read shows as a change next time.
    const seen = signatures([...new Set([this.path, ...this.#current.files])]);
    let next: WebConfig;
    try {
      next = loadWebConfig(this.path);
      this.#checkRestartOnly(next);
    } catch (error) {
      this.#seen = seen;
      this.#logger.error(
        { err: errorMessage(error), file: this.path },
        "web config not reloaded; the last good one stays in effect",
      );
      return this.#current;
    }
    this.#seen = withNewFiles(seen, next);
    this.#current = next;
    this.#logger.info(
      { file: this.path, tls: Boolean(next.tls), users: next.users.size },
      "web config reloaded",
    );
    for (const listener of this.#listeners) listener(next);
    return next;
  }

  #checkRestartOnly(next: WebConfig): void {
    if (Boolean(next.tls) !== Boolean(this.initial.tls))
      throw new Error(`TLS cannot be turned ${next.tls ? "on" : "off"} without a restart`);
    const { http2, rateLimit } = this.initial;
    if (next.http2 !== http2 || JSON.stringify(next.rateLimit) !== JSON.stringify(rateLimit))
      this.#logger.warn(
        { file: this.path },
        "http_server_config.http2 and rate_limit take effect at the next restart, as in exporter-toolkit",
      );
  }
}

/** Stats taken before a load, and those of the files the load found named for the first time. */
function withNewFiles(seen: ReadonlyMap<string, string>, loaded: WebConfig): Map<string, string> {
  return new Map([...seen, ...signatures(loaded.files.filter((file) => !seen.has(file)))]);
}

function signatures(files: readonly string[]): Map<string, string> {
  return new Map(files.map((file) => [file, signature(file)]));
}

/** Changes when a file is written, replaced or removed (also through a symlink swap). */
function signature(file: string): string {
  const stat = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!stat) return "missing";
  return `${String(stat.dev)}:${String(stat.ino)}:${String(stat.size)}:${String(stat.mtimeNs)}:${String(stat.ctimeNs)}`;
}
