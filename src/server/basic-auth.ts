/**
 * Basic auth as exporter-toolkit's web/handler.go does it: every credential checked with bcrypt,
 * an unknown user against a dummy hash (so the answer's timing does not tell which users
 * exist), and each outcome remembered in a small cache (web/cache.go) so a scraper's repeated
 * credentials cost one hash lookup. The bcrypt work runs on its own thread (./bcrypt-thread.ts).
 */
import { createHash } from "node:crypto";

/** Checks a password against a bcrypt hash, off the serving thread. */
export type PasswordCheck = (password: string, hash: string) => Promise<boolean>;

/** exporter-toolkit's dummy: bcrypt of "fakepassword" at cost 10; dummyHash() sets the cost. */
const DUMMY_HASH = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
const CACHE_SIZE = 100;

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** Go's Request.BasicAuth(): "Basic " in any case, standard base64, split at the first ':'. */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header?.slice(0, 6).toLowerCase() !== "basic ") return undefined;
  const encoded = header.slice(6);
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The hash an unknown user's password is checked against: the dummy at the highest cost among
 * the users, so that no known user is slower to refuse than an unknown one. bcrypt's time
 * depends on the cost only; the dummy's digest matches no password.
 */
export function dummyHash(users: ReadonlyMap<string, string>): string {
  const costs = [...users.values()].map((hash) => Number(hash.slice(4, 6)));
  const cost = costs.length > 0 ? Math.max(...costs) : 10;
  return `${DUMMY_HASH.slice(0, 4)}${String(cost).padStart(2, "0")}${DUMMY_HASH.slice(6)}`;
}

/** web/cache.go: at most 100 outcomes; when full, a tenth of them (and one) leave at random. */
export class OutcomeCache {
  readonly #outcomes = new Map<string, boolean>();

  get(key: string): boolean | undefined {
    return this.#outcomes.get(key);
  }

  set(key: string, outcome: boolean): void {
    if (this.#outcomes.size >= CACHE_SIZE) this.#makeRoom();
    this.#outcomes.set(key, outcome);
  }

  #makeRoom(): void {
    const keys = [...this.#outcomes.keys()];
    for (let deleted = 0; deleted <= Math.max(1, Math.floor(keys.length / 10)); deleted++) {
      const index = Math.floor(Math.random() * keys.length);
      const [key] = keys.splice(index, 1);
      if (key !== undefined) this.#outcomes.delete(key);
    }
  }
}

export class BasicAuth {
  readonly #check: PasswordCheck;
  readonly #cache = new OutcomeCache();
  /** Checks under way, by cache key: the same credentials arriving together share one. */
  readonly #running = new Map<string, Promise<boolean>>();
  readonly #dummies = new WeakMap<ReadonlyMap<string, string>, string>();

  constructor(check: PasswordCheck) {
    this.#check = check;
  }

  /**
   * May these credentials in? A boolean at once when the outcome is cached (every scrape after
   * the first), else a promise settled by the bcrypt thread.
   */
  verify(users: ReadonlyMap<string, string>, credentials: Credentials): boolean | Promise<boolean> {
    const known = users.get(credentials.user);
    const hash = known ?? this.#dummy(users);
    // The key holds the hash, so a changed hash (or user) is never served a stale outcome; it
    // is a digest so that the cache does not hold passwords.
    const key = createHash("sha256")
      .update(JSON.stringify([credentials.user, hash, credentials.password]))
      .digest("base64");
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached && known !== undefined;
    let running = this.#running.get(key);
    if (!running) {
      running = this.#check(credentials.password, hash)
        .then((match) => {
          const outcome = match && known !== undefined;
          this.#cache.set(key, outcome);
          return outcome;
        })
        .finally(() => this.#running.delete(key));
      this.#running.set(key, running);
    }
    return running;
  }

  #dummy(users: ReadonlyMap<string, string>): string {
    let dummy = this.#dummies.get(users);
    if (dummy === undefined) {
      dummy = dummyHash(users);
      this.#dummies.set(users, dummy);
    }
    return dummy;
  }
}
