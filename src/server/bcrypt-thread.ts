/**
 * The serving thread's handle on the bcrypt thread (./bcrypt-worker.ts): one thread, so checks
 * run one at a time as exporter-toolkit's mutex makes them, and never on the serving thread.
 */
import { extname } from "node:path";
import { Worker } from "node:worker_threads";

export interface CompareRequest {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}
export interface CompareReply {
  readonly id: number;
  readonly match: boolean;
}

/** The bcrypt thread's niceness, as the scanner process's: both give way to serving. */
export const BCRYPT_NICENESS = 10;

// From the sources (tests, `npm start`) the worker is a .ts file, from dist a .js one.
const WORKER_URL = new URL(`./bcrypt-worker${extname(import.meta.url)}`, import.meta.url);

interface Waiting {
  readonly resolve: (match: boolean) => void;
  readonly reject: (error: Error) => void;
}

export class BcryptThread {
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;

  /** Checks are queued in order; how many are queued or running now. */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Does the password match the bcrypt hash? Rejects only if the thread failed. */
  compare(password: string, hash: string): Promise<boolean> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, password, hash } satisfies CompareRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL, { name: "bcrypt" });
    worker.on("message", ({ id, match }: CompareReply) => {
      this.#waiting.get(id)?.resolve(match);
      this.#waiting.delete(id);
      // Idle, it must not keep the process (or a test) alive.
      if (this.#waiting.size === 0) worker.unref();
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      fail(new Error(`the bcrypt thread ended (exit code ${String(code)})`));
    });
    this.#worker = worker;
    return worker;
  }
}
