// Key sets published at URLs, for VerifyJWT and VerifyJWS (docs/policies.md#keys-from-a-url): JWKS
// URLs and OpenID discovery documents (…/.well-known/openid-configuration, whose jwks_uri is then
// fetched the same way). Policies stay free of I/O: they ask this service, on their PolicyContext.
//
// Bounds, each in docs/failure-modes.md: a document is cached for its Cache-Control max-age, held
// between minTtlMs and maxTtlMs (default ttlMs without one); a kid the cached set lacks triggers at
// most one refetch per refetchIntervalMs per URL (a flood of random kids cannot make us hammer the
// issuer); a failed fetch is not retried before failureBackoffMs; when a refresh fails the last good
// set keeps being served for staleIfErrorMs past its expiry; each fetch has a connect-and-read deadline
// (timeoutMs) and a body cap (maxBytes); only https (unless allowHttp, for tests); and the address the
// name resolves to, or the literal, may not be link-local or a cloud metadata service (the classes
// ApiProxy targets refuse, protos/policies/target-address.ts). jku, x5u and other URLs inside tokens
// never reach this service: only URLs from policy configs do.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { GatehouseError } from '../../../lib/errors.ts';
import { refusedTargetClass } from '../../../protos/policies/target-address.ts';
import type { JsonWebKeySet, RemoteKeySets, RemoteKeySource } from '../flow/types.ts';

export class KeysUnavailableError extends GatehouseError {
  constructor(url: string, reason: string) {
    super('GH_ERR_KEYS_UNAVAILABLE', `keys from ${url} are unavailable: ${reason}`);
  }
}

export interface RemoteKeySetOptions {
  log?: Logger;
  now?: () => number;
  /** Without Cache-Control max-age. */
  ttlMs?: number;
  minTtlMs?: number;
  maxTtlMs?: number;
  /** How long past its expiry the last good document is served while refreshes fail. */
  staleIfErrorMs?: number;
  /** At most one unknown-kid refetch per URL in this time. */
  refetchIntervalMs?: number;
  /** No new attempt at a URL within this time of a failed one. */
  failureBackoffMs?: number;
  /** The whole fetch: connect, TLS, headers and body. */
  timeoutMs?: number;
  maxBytes?: number;
  /** URLs held; the least recently used is dropped beyond. */
  maxEntries?: number;
  /** Trust these CAs instead of the system's (tests). */
  ca?: string | Buffer;
  /** http:// URLs too (tests only). */
  allowHttp?: boolean;
  /** Link-local and metadata addresses too (like DataPlane spec.upstream.allowLinkLocalTargets). */
  allowLinkLocal?: boolean;
}

export const DEFAULT_REMOTE_KEY_OPTIONS = {
  ttlMs: 5 * 60_000,
  minTtlMs: 30_000,
  maxTtlMs: 24 * 3_600_000,
  staleIfErrorMs: 60 * 60_000,
  refetchIntervalMs: 30_000,
  failureBackoffMs: 5_000,
  timeoutMs: 5_000,
  maxBytes: 256 * 1024,
  maxEntries: 1_000,
} as const;

interface Entry {
  doc?: unknown;
  expiresAt: number;
  /** Last attempt, successful or not. */
  attemptedAt: number;
  lastError?: string;
  inflight?: Promise<unknown>;
}

type Validate = (doc: unknown) => string | undefined;

const validJwks: Validate = (doc) =>
  doc !== null && typeof doc === 'object' && Array.isArray((doc as { keys?: unknown }).keys)
    ? undefined
    : 'not a JWKS ({"keys": [...]})';

const validDiscovery: Validate = (doc) =>
  doc !== null && typeof doc === 'object' && typeof (doc as { jwks_uri?: unknown }).jwks_uri === 'string'
    ? undefined
    : 'not an OpenID discovery document (no jwks_uri)';

function maxAgeMs(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  if (/\b(no-store|no-cache)\b/i.test(cacheControl)) return 0;
  const match = /\bmax-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl);
  return match ? Number(match[1]) * 1000 : undefined;
}

export class RemoteKeySetCache implements RemoteKeySets {
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<Omit<RemoteKeySetOptions, 'log' | 'ca'>> & Pick<RemoteKeySetOptions, 'log' | 'ca'>;

  constructor(options: RemoteKeySetOptions = {}) {
    this.o = {
      ...DEFAULT_REMOTE_KEY_OPTIONS,
      now: Date.now,
      allowHttp: false,
      allowLinkLocal: false,
      ...options,
    };
  }

  async jwks(source: RemoteKeySource, unknownKid?: string): Promise<JsonWebKeySet> {
    let url: string;
    if ('jwksUri' in source) url = source.jwksUri;
    else {
      const discovery = (await this.document(source.discoveryUri, validDiscovery)) as { jwks_uri: string };
      url = discovery.jwks_uri;
    }
    const keys = (await this.document(url, validJwks)) as JsonWebKeySet;
    if (unknownKid === undefined || keys.keys.some((k) => k.kid === unknownKid)) return keys;
    return (await this.document(url, validJwks, true)) as JsonWebKeySet;
  }

  /** The cached document at `url`, fetched when expired (or, with `refresh`, when the refetch interval allows). */
  private async document(url: string, validate: Validate, refresh = false): Promise<unknown> {
    const now = this.o.now();
    let entry = this.entries.get(url);
    if (entry) {
      this.entries.delete(url); // re-inserted last: least recently used first
      this.entries.set(url, entry);
    } else {
      entry = { expiresAt: 0, attemptedAt: -Infinity };
      this.entries.set(url, entry);
      if (this.entries.size > this.o.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    const fresh = entry.doc !== undefined && now < entry.expiresAt;
    const wantRefetch = refresh && now - entry.attemptedAt >= this.o.refetchIntervalMs;
    if (fresh && !wantRefetch) return entry.doc;
    const mayTry = now - entry.attemptedAt >= (entry.lastError ? this.o.failureBackoffMs : 0) || wantRefetch;
    if (mayTry || entry.inflight) {
      try {
        return await this.refresh(url, entry, validate);
      } catch (err) {
        return this.fallback(url, entry, (err as Error).message);
      }
    }
    return this.fallback(url, entry, entry.lastError ?? 'not fetched');
  }

  private fallback(url: string, entry: Entry, reason: string): unknown {
    const now = this.o.now();
    if (entry.doc !== undefined && now < entry.expiresAt + this.o.staleIfErrorMs) return entry.doc;
    throw new KeysUnavailableError(url, reason);
  }

  private refresh(url: string, entry: Entry, validate: Validate): Promise<unknown> {
    if (entry.inflight) return entry.inflight;
    entry.attemptedAt = this.o.now();
    const run = this.fetch(url)
      .then(({ body, cacheControl }) => {
        let doc: unknown;
        try {
          doc = JSON.parse(body);
        } catch {
          throw new KeysUnavailableError(url, 'the body is not JSON');
        }
        const problem = validate(doc);
        if (problem) throw new KeysUnavailableError(url, problem);
        const maxAge = maxAgeMs(cacheControl);
        const ttl = Math.min(this.o.maxTtlMs, Math.max(this.o.minTtlMs, maxAge ?? this.o.ttlMs));
        entry.doc = doc;
        entry.expiresAt = this.o.now() + ttl;
        delete entry.lastError;
        return doc;
      })
      .catch((err: unknown) => {
        const reason = err instanceof KeysUnavailableError ? err.message : (err as Error).message;
        entry.lastError = reason;
        this.o.log?.warn({ url, err: reason }, 'fetching keys failed');
        throw err instanceof KeysUnavailableError ? err : new KeysUnavailableError(url, reason);
      })
      .finally(() => {
        delete entry.inflight;
      });
    entry.inflight = run;
    return run;
  }

  /** Why the URL may not be fetched, or undefined. */
  private refusal(parsed: URL): string | undefined {
    if (parsed.protocol !== 'https:' && !(this.o.allowHttp && parsed.protocol === 'http:'))
      return 'only https URLs are fetched';
    if (parsed.username || parsed.password) return 'a key URL may not carry credentials';
    if (this.o.allowLinkLocal) return undefined;
    const refused = refusedTargetClass(parsed.hostname.replace(/^\[|\]$/g, ''));
    return refused ? `${refused} addresses are never fetched` : undefined;
  }

  /** Resolves names as usual, then refuses link-local and metadata answers (a name is no way around the rule). */
  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = this.o.allowLinkLocal ? addresses : addresses.filter((a) => !refusedTargetClass(a.address));
      if (allowed.length === 0)
        return callback(new Error(`${hostname} resolves only to link-local or metadata addresses`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };

  private fetch(url: string): Promise<{ body: string; cacheControl: string | undefined }> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return Promise.reject(new KeysUnavailableError(url, 'not a URL'));
    }
    const refused = this.refusal(parsed);
    if (refused) return Promise.reject(new KeysUnavailableError(url, refused));
    const { timeoutMs, maxBytes } = this.o;
    return new Promise((resolve, reject) => {
      const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(parsed, {
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json' },
        lookup: this.guardedLookup,
        ...(this.o.ca !== undefined && parsed.protocol === 'https:' ? { ca: this.o.ca } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      req.on('error', (err) =>
        reject(
          new KeysUnavailableError(url, err.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : err.message),
        ),
      );
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new KeysUnavailableError(url, `status ${res.statusCode}`));
          return;
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          req.destroy();
          reject(new KeysUnavailableError(url, `the body is over ${maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy();
            reject(new KeysUnavailableError(url, `the body is over ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => reject(new KeysUnavailableError(url, err.message)));
        res.on('end', () => {
          const cc = res.headers['cache-control'];
          resolve({
            body: Buffer.concat(chunks).toString('utf8'),
            cacheControl: Array.isArray(cc) ? cc.join(',') : cc,
          });
        });
      });
      req.end();
    });
  }
}
