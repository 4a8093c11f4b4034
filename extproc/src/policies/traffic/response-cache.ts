// ResponseCache (docs/policies.md; Apigee semantics). Request phase: a hit is answered at once as a direct
// response and the upstream is never called. Response phase (the body is buffered for this step): the
// upstream's response is stored under the key the request phase computed, remembered in the flow
// variable responsecache.{name}.cachekey, unless skipped, an error (excludeErrorResponse), or
// forbidden by its Cache-Control (useResponseCacheHeaders).
import {
  responseCache as responseCacheSpec,
  type ResponseCacheConfig,
} from '../../../../protos/policies/traffic/response-cache.ts';
import type {
  DirectResponse,
  PolicyContext,
  PolicyImplementation,
  PolicyMeta,
  ResponseMessage,
} from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { bestEffort, cacheKey, expiryTtlMs } from './cache-support.ts';
import { resolveFlag } from './support.ts';

const ACCEPT_HEADERS = ['accept', 'accept-encoding', 'accept-language', 'accept-charset'];
/** Connection-level headers describe one transfer, not the resource: never replayed from the cache. */
const NOT_STORED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'set-cookie']);

interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function requestKey(ctx: PolicyContext, meta: PolicyMeta, config: ResponseCacheConfig): string {
  const accept = config.useAcceptHeader ? ACCEPT_HEADERS.map((h) => ctx.request.headers.getAll(h).join(',')) : [];
  return cacheKey(ctx, meta, config, accept);
}

/** Seconds the response's own headers allow it to be cached; 0: not at all; undefined: they do not say. */
function headerTtlMs(response: ResponseMessage, nowMs: number): number | undefined {
  const directives = new Map(
    (response.headers.get('cache-control') ?? '')
      .toLowerCase()
      .split(',')
      .map((d) => {
        const [name, value] = d.trim().split('=', 2);
        return [name, value] as const;
      }),
  );
  if (directives.has('no-store') || directives.has('no-cache') || directives.has('private')) return 0;
  for (const name of ['s-maxage', 'max-age']) {
    const seconds = Number(directives.get(name));
    if (directives.has(name) && Number.isFinite(seconds)) return Math.max(0, seconds) * 1000;
  }
  const expires = response.headers.get('expires');
  if (expires !== undefined) {
    const at = Date.parse(expires);
    return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
  }
  return undefined;
}

/** The response as stored, or undefined when its body is not text (a direct response carries text). */
function toStored(response: ResponseMessage): StoredResponse | undefined {
  const bytes = response.body.bytes();
  const body = bytes.toString('utf8');
  if (!Buffer.from(body, 'utf8').equals(bytes)) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, values] of response.headers.entries()) if (!NOT_STORED.has(name)) headers[name] = values.join(', ');
  return { status: response.status, headers, body };
}

async function lookup(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: ResponseCacheConfig,
): Promise<DirectResponse | undefined> {
  const key = requestKey(ctx, meta, config);
  ctx.variables.set(`responsecache.${meta.name}.cachekey`, key);
  ctx.variables.set(`responsecache.${meta.name}.cachehit`, false);
  if (resolveFlag(ctx, config.skipCacheLookup)) return undefined;
  const entry = await bestEffort(ctx, 'lookup', () => ctx.stores.cache.get(key), undefined);
  if (entry === undefined) return undefined;
  ctx.variables.set(`responsecache.${meta.name}.cachehit`, true);
  return JSON.parse(entry.toString('utf8')) as StoredResponse;
}

async function populate(ctx: PolicyContext, meta: PolicyMeta, config: ResponseCacheConfig): Promise<void> {
  const response = ctx.response;
  if (response === undefined || ctx.variables.get(`responsecache.${meta.name}.cachehit`) === true) return;
  if (resolveFlag(ctx, config.skipCachePopulation)) return;
  if ((config.excludeErrorResponse ?? true) && response.status >= 400) return;
  const fromHeaders = config.useResponseCacheHeaders ? headerTtlMs(response, ctx.now()) : undefined;
  const ttlMs = fromHeaders ?? expiryTtlMs(ctx, config.expiry);
  const stored = ttlMs > 0 ? toStored(response) : undefined;
  if (stored === undefined) return;
  const key = ctx.variables.getString(`responsecache.${meta.name}.cachekey`) ?? requestKey(ctx, meta, config);
  await bestEffort(
    ctx,
    'populate',
    () => ctx.stores.cache.set(key, Buffer.from(JSON.stringify(stored), 'utf8'), ttlMs),
    undefined,
  );
}

export const responseCachePolicy: PolicyImplementation<ResponseCacheConfig> = {
  type: 'ResponseCache',
  create(config, meta) {
    checkConfig(responseCacheSpec, config, meta);
    return async (ctx) => {
      if (ctx.phase === 'request') {
        const hit = await lookup(ctx, meta, config);
        return hit === undefined ? undefined : { respond: hit };
      }
      await populate(ctx, meta, config);
      return undefined;
    };
  },
};
