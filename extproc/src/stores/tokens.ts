// The OAuth token store (docs/policies.md#oauthv2): access tokens, refresh tokens and authorization
// codes, each a sealed record under a keyed hash of the token (the policies never hand the store a
// token in clear; policies/security/oauth/records.ts). Every entry expires; `take` is the atomic
// read-and-remove that makes an authorization code or a rotated refresh token single-use.
import { ExpiringLruMap, type Clock } from './memory.ts';

export interface TokenStore {
  get(id: string): Promise<string | undefined>;
  put(id: string, record: string, ttlMs: number): Promise<void>;
  /** Reads and removes the entry in one atomic step: of two concurrent takes, one gets it. */
  take(id: string): Promise<string | undefined>;
  delete(ids: readonly string[]): Promise<void>;
  /**
   * Overwrites the entry's first character (the record's status flag) in place, keeping its expiry:
   * revoking or approving a paired token again needs no key to re-seal it. False when absent.
   */
  setFlag(id: string, flag: string): Promise<boolean>;
}

/** One process's tokens (dev, tests): a token issued here is unknown to any other replica. */
export class MemoryTokenStore implements TokenStore {
  readonly #entries: ExpiringLruMap<string>;

  constructor(clock: Clock, maxEntries: number) {
    this.#entries = new ExpiringLruMap(clock, maxEntries);
  }

  get(id: string): Promise<string | undefined> {
    return Promise.resolve(this.#entries.get(id));
  }

  put(id: string, record: string, ttlMs: number): Promise<void> {
    this.#entries.set(id, record, Math.max(1, ttlMs));
    return Promise.resolve();
  }

  take(id: string): Promise<string | undefined> {
    const record = this.#entries.get(id);
    this.#entries.delete(id);
    return Promise.resolve(record);
  }

  delete(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.#entries.delete(id);
    return Promise.resolve();
  }

  setFlag(id: string, flag: string): Promise<boolean> {
    const record = this.#entries.get(id);
    if (record === undefined) return Promise.resolve(false);
    this.#entries.replace(id, flag + record.slice(flag.length));
    return Promise.resolve(true);
  }
}
