// How OAuth tokens and codes are kept (docs/policies.md#oauthv2): each record is stored under a
// keyed hash of (namespace, kind, token), so the store never sees a token and a token of one namespace
// is simply unknown in another, and it is sealed (AES-256-GCM) with a key derived from the token
// itself: what Redis holds names no client, app or attribute to anyone without the token.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { PolicyFault, STORE_UNAVAILABLE_CODE } from '../../../flow/faults.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import { StoreUnavailableError } from '../../../stores/types.ts';

export type TokenStatus = 'approved' | 'revoked';
const FLAG: Record<TokenStatus, string> = { approved: 'A', revoked: 'R' };

export type RecordKind = 'access' | 'refresh' | 'code' | 'used-code';

export interface TokenAttribute {
  value: string;
  display: boolean;
}

export interface TokenRecord {
  namespace: string;
  appName: string;
  /** The consumer key (client_id); only ever inside the sealed record. */
  clientId: string;
  /** The credential's key hash: how the app is found again in the current snapshot. */
  keyHash: string;
  developerEmail: string;
  products: string[];
  scope: string;
  grantType: string;
  issuedAt: number;
  expiresAt: number;
  /** Stored as the entry's first character, outside the seal (TokenStore.setFlag), so a cascade can flip it. */
  status: TokenStatus;
  attributes: Record<string, TokenAttribute>;
  /** An access token's refresh token id, a refresh token's access token id, or a code's issued token ids. */
  pairIds: string[];
  refreshCount: number;
  /** Codes: the redirect URI the code was issued for. */
  redirectUri?: string;
  /** The end user (resource owner) id the token was issued for (Apigee's app_enduser, AppEndUser). */
  appEndUser?: string;
}

/**
 * Expired tokens are kept this long past their expiry so that a client hears access_token_expired
 * rather than invalid_access_token (Apigee tells the two apart); then the store's TTL drops them.
 */
export const EXPIRED_RETENTION_MS = 3_600_000;

/** Longer tokens are refused before any store lookup (a bearer header is no place for megabytes). */
export const MAX_TOKEN_LENGTH = 4096;

/** 32 characters of base64url: 192 random bits. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function recordId(ctx: PolicyContext, namespace: string, kind: RecordKind, token: string): string {
  return ctx.runtime.hashStoreKey(`oauth\u0000${namespace}\u0000${kind}\u0000${token}`);
}

function sealingKey(token: string): Buffer {
  return createHash('sha256').update('gatehouse oauth record\u0000').update(token, 'utf8').digest();
}

export function seal(token: string, record: TokenRecord): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(token), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The record, or undefined when the blob was not sealed for this token (tampered, or a hash collision). */
export function unseal(token: string, blob: string): TokenRecord | undefined {
  try {
    const raw = Buffer.from(blob, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(token), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as TokenRecord;
  } catch {
    return undefined;
  }
}

/** A stored entry: its status flag, then the sealed record. */
function open(token: string, entry: string): TokenRecord | undefined {
  const record = unseal(token, entry.slice(1));
  if (record) record.status = entry[0] === FLAG.approved ? 'approved' : 'revoked';
  return record;
}

/** A token store call; the store being down is a 503 (the token store always fails closed). */
export async function withTokenStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      throw new PolicyFault({
        status: 503,
        errorCode: STORE_UNAVAILABLE_CODE,
        faultString: 'The token store is unavailable',
        headers: { 'retry-after': '1' },
      });
    }
    throw err;
  }
}

/** The token records of one namespace in the step's stores. */
export class TokenRecords {
  readonly #ctx: PolicyContext;
  readonly namespace: string;

  constructor(ctx: PolicyContext, namespace: string) {
    this.#ctx = ctx;
    this.namespace = namespace;
  }

  id(kind: RecordKind, token: string): string {
    return recordId(this.#ctx, this.namespace, kind, token);
  }

  async load(kind: RecordKind, token: string): Promise<TokenRecord | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const entry = await withTokenStore(() => this.#ctx.stores.tokens.get(this.id(kind, token)));
    return entry === undefined ? undefined : open(token, entry);
  }

  /** Reads and removes: of two concurrent takes of a code, one gets the record. */
  async take(kind: RecordKind, token: string): Promise<TokenRecord | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const entry = await withTokenStore(() => this.#ctx.stores.tokens.take(this.id(kind, token)));
    return entry === undefined ? undefined : open(token, entry);
  }

  /** Stores the record until its expiry plus EXPIRED_RETENTION_MS. */
  async save(kind: RecordKind, token: string, record: TokenRecord): Promise<void> {
    const ttlMs = record.expiresAt - this.#ctx.now() + EXPIRED_RETENTION_MS;
    const entry = FLAG[record.status] + seal(token, record);
    await withTokenStore(() => this.#ctx.stores.tokens.put(this.id(kind, token), entry, ttlMs));
  }

  /** Revokes or approves again the record with this id; false when there is none. */
  async setStatus(id: string, status: TokenStatus): Promise<boolean> {
    return withTokenStore(() => this.#ctx.stores.tokens.setFlag(id, FLAG[status]));
  }

  /** Remembers which tokens a redeemed code issued, so that a replay of the code revokes them. */
  async markCodeUsed(code: string, issued: string[], until: number): Promise<void> {
    const ttlMs = until - this.#ctx.now() + EXPIRED_RETENTION_MS;
    await withTokenStore(() => this.#ctx.stores.tokens.put(this.id('used-code', code), JSON.stringify(issued), ttlMs));
  }

  /** The ids a redeemed code issued (and forgets the mark), or undefined for a code never redeemed. */
  async takeUsedCode(code: string): Promise<string[] | undefined> {
    if (code.length > MAX_TOKEN_LENGTH) return undefined;
    const ids = await withTokenStore(() => this.#ctx.stores.tokens.take(this.id('used-code', code)));
    return ids === undefined ? undefined : (JSON.parse(ids) as string[]);
  }

  async deleteIds(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await withTokenStore(() => this.#ctx.stores.tokens.delete(ids));
  }
}
