// Outbound HTTP for policies (docs/architecture.md#egress; ServiceCallout and the JavaScript
// policy's httpClient). node:http and node:https with one keep-alive Agent per pool: origin, TLS
// material and address rules. Bounds: sockets per pool, pools (least recently used closed beyond),
// connect and total timeouts, a response size cap. Redirects are never followed (a 3xx is the answer).
//
// The target address is checked where the connection is made, not on the URL's text alone: names
// resolve through a lookup that drops refused addresses (so a name that resolves to 169.254.169.254,
// or is re-pointed there after a first check, never connects), literals are checked before the
// request, and every new socket's remote address is checked again once connected. A host the
// configuration chose (EgressOptions.allowPrivateFor: a ServiceCallout's Service) may be private or
// loopback; the allowance holds for that exact host only, and never for link-local or metadata.
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { addressRefusal, nameRefusal } from './address-rules.ts';
import type { Egress, EgressOptions, EgressRequest, EgressResponse, EgressRules } from '../flow/types.ts';
import {
  EgressConnectError,
  EgressError,
  EgressInvalidUrlError,
  EgressRefusedError,
  EgressResponseTooLargeError,
  EgressTimeoutError,
  EgressTlsError,
} from './errors.ts';

export interface EgressClientOptions {
  log?: Logger;
  /** Open sockets per pool (origin and TLS settings); more requests queue. */
  maxSocketsPerPool?: number;
  /** Pools kept; the least recently used is closed beyond. */
  maxPools?: number;
  /** Default connect and TLS handshake deadline. */
  connectTimeoutMs?: number;
  /** Default response body cap. */
  maxResponseBytes?: number;
  /** An idle keep-alive socket is closed after this. */
  idleTimeoutMs?: number;
  /** Told how every call ended (ok, or the failure's reason), for a metric; fire-and-forget calls too. */
  onOutcome?: (outcome: 'ok' | EgressError['reason']) => void;
  /** How names resolve (tests point a name at a chosen address); default the system resolver. */
  lookup?: typeof dnsLookup;
}

export const DEFAULT_EGRESS_OPTIONS = {
  maxSocketsPerPool: 64,
  maxPools: 256,
  connectTimeoutMs: 3_000,
  maxResponseBytes: 1_048_576,
  idleTimeoutMs: 30_000,
} as const;

/** Connection-level headers: the client sets its own, or they mean nothing one hop on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Node's codes for a failed TLS handshake or certificate check. */
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsFailure(err: NodeJS.ErrnoException & { library?: string }): boolean {
  const code = err.code ?? '';
  return (
    TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || err.library === 'SSL routines'
  );
}

interface Pool {
  agent: HttpAgent;
}

/** What a pool's sockets may connect to: the rules, compiled once per rules object. */
interface AddressGuard {
  refusal(address: string): string | undefined;
  key: string;
}

export class EgressClient implements Egress {
  private readonly o: Required<Omit<EgressClientOptions, 'log' | 'lookup' | 'onOutcome'>> &
    Pick<EgressClientOptions, 'log' | 'onOutcome'>;
  private readonly resolve: typeof dnsLookup;
  private readonly pools = new Map<string, Pool>();
  private readonly guards = new WeakMap<EgressRules, AddressGuard>();
  private readonly trustedGuards = new WeakMap<EgressRules, AddressGuard>();
  private connections = 0;
  private closed = false;

  constructor(options: EgressClientOptions = {}) {
    const { lookup, ...rest } = options;
    this.o = { ...DEFAULT_EGRESS_OPTIONS, ...rest };
    this.resolve = lookup ?? dnsLookup;
  }

  /** TCP connections made so far (for https, each one TLS handshake) and pools held. */
  stats(): { connections: number; pools: number } {
    return { connections: this.connections, pools: this.pools.size };
  }

  /** Closes every pool's sockets; later sends fail. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.agent.destroy();
    this.pools.clear();
  }

  send(request: EgressRequest, options: EgressOptions): Promise<EgressResponse> {
    const sent = this.start(request, options);
    if (this.o.onOutcome) {
      const told = this.o.onOutcome;
      sent.then(
        () => told('ok'),
        (err: unknown) => told(err instanceof EgressError ? err.reason : 'connect'),
      );
    }
    return sent;
  }

  private start(request: EgressRequest, options: EgressOptions): Promise<EgressResponse> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.reject(new EgressInvalidUrlError('it does not parse'));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return Promise.reject(new EgressInvalidUrlError(`${url.protocol} is not http: or https:`));
    if (url.username !== '' || url.password !== '')
      return Promise.reject(new EgressInvalidUrlError('credentials in the URL'));
    if (this.closed) return Promise.reject(new EgressConnectError(url.origin, 'the client is closed'));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const guard = this.guard(options.rules, trustedHost(url, options));
    // A literal never goes through the lookup; a name may itself be a metadata name.
    const refused = isIP(host) !== 0 ? guard.refusal(host) : nameRefusal(options.rules, host);
    if (refused) return Promise.reject(new EgressRefusedError(url.origin, refused));
    return this.exchange(url, request, options, this.pool(url, options, guard), guard);
  }

  /** The address rules; trusted: private and loopback allowed too (a configured host, see allowPrivateFor). */
  private guard(rules: EgressRules, trusted = false): AddressGuard {
    const guards = trusted ? this.trustedGuards : this.guards;
    let guard = guards.get(rules);
    if (guard) return guard;
    guard = {
      key: `${rules.allowLinkLocal ? 'll' : '-'}|${trusted ? 'trusted' : [...rules.privateNetworks].sort().join(',')}`,
      refusal: addressRefusal(rules, trusted),
    };
    guards.set(rules, guard);
    return guard;
  }

  /** The keep-alive pool for this origin, TLS material and rules (made on first use). */
  private pool(url: URL, options: EgressOptions, guard: AddressGuard): Pool {
    const tls = url.protocol === 'https:' ? options.tls : undefined;
    // The key holds a digest of the TLS material, never the material.
    const tlsKey = tls
      ? createHash('sha256')
          .update(JSON.stringify([tls.ca ?? '', tls.cert ?? '', tls.key ?? '', tls.verify !== false]))
          .digest('base64url')
      : '';
    const key = `${url.origin}|${tlsKey}|${guard.key}`;
    const existing = this.pools.get(key);
    if (existing) {
      this.pools.delete(key); // re-inserted last: least recently used first
      this.pools.set(key, existing);
      return existing;
    }
    const lookup = this.guardedLookup(guard);
    const common = {
      keepAlive: true,
      maxSockets: this.o.maxSocketsPerPool,
      maxFreeSockets: this.o.maxSocketsPerPool,
      timeout: this.o.idleTimeoutMs,
      scheduling: 'lifo' as const,
      lookup,
    };
    const agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            ...common,
            ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
            ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
            ...(tls?.key !== undefined ? { key: tls.key } : {}),
            rejectUnauthorized: tls?.verify !== false,
          })
        : new HttpAgent(common);
    const pool = { agent };
    this.pools.set(key, pool);
    if (this.pools.size > this.o.maxPools) {
      const [oldestKey, oldest] = this.pools.entries().next().value!;
      this.pools.delete(oldestKey);
      oldest.agent.destroy();
    }
    return pool;
  }

  /** Resolves as usual, then keeps only the addresses the rules allow (a name is no way around them). */
  private guardedLookup(guard: AddressGuard): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const allowed = addresses.filter((a) => guard.refusal(a.address) === undefined);
        if (allowed.length === 0) {
          const why = guard.refusal(addresses[0]?.address ?? '') ?? 'no address';
          return callback(new EgressRefusedError(hostname, `it resolves to no allowed address (${why})`), '', 0);
        }
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
        callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
  }

  private exchange(
    url: URL,
    request: EgressRequest,
    options: EgressOptions,
    pool: Pool,
    guard: AddressGuard,
  ): Promise<EgressResponse> {
    const target = url.origin;
    const maxBytes = options.maxResponseBytes ?? this.o.maxResponseBytes;
    const connectMs = Math.min(options.connectTimeoutMs ?? this.o.connectTimeoutMs, options.timeoutMs);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of request.headers) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) continue;
      const had = headers[lower];
      headers[lower] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
    }
    const body = request.body && request.body.length > 0 ? request.body : undefined;
    if (body) headers['content-length'] = String(body.length);
    return new Promise<EgressResponse>((resolve, reject) => {
      let settled = false;
      // eslint-disable-next-line prefer-const -- finish() may run before the request exists only in theory
      let req: ClientRequest | undefined;
      const finish = (err: Error | undefined, res?: EgressResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        if (err) {
          req?.destroy();
          reject(err);
        } else resolve(res!);
      };
      const total = setTimeout(
        () => finish(new EgressTimeoutError(target, 'total', options.timeoutMs)),
        options.timeoutMs,
      );
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const made = send(url, { method: request.method, headers, agent: pool.agent });
      req = made;
      made.on('socket', (socket: Socket) => this.watchSocket(socket, made, target, connectMs, guard));
      made.on('error', (err: NodeJS.ErrnoException) => finish(this.classify(err, target)));
      made.on('response', (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) return finish(new EgressResponseTooLargeError(target, maxBytes));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return finish(new EgressResponseTooLargeError(target, maxBytes));
          chunks.push(chunk);
        });
        res.on('error', (err: NodeJS.ErrnoException) => finish(this.classify(err, target)));
        res.on('aborted', () => finish(new EgressConnectError(target, 'the response was cut off')));
        res.on('end', () => {
          const out: Array<[string, string]> = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
            out.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
          finish(undefined, {
            status: res.statusCode ?? 0,
            reasonPhrase: res.statusMessage ?? '',
            headers: out,
            body: Buffer.concat(chunks),
          });
        });
      });
      made.end(body);
    });
  }

  /** A new socket: bounds its connect and handshake, then checks the address it reached. */
  private watchSocket(socket: Socket, req: ClientRequest, target: string, connectMs: number, guard: AddressGuard) {
    if (!socket.connecting) return; // a pooled socket, checked when it was new
    const timer = setTimeout(() => req.destroy(new EgressTimeoutError(target, 'connect', connectMs)), connectMs);
    const ready = () => clearTimeout(timer);
    socket.once(req.protocol === 'https:' ? 'secureConnect' : 'connect', ready);
    socket.once('close', ready);
    socket.once('connect', () => {
      this.connections += 1;
      const refused = socket.remoteAddress ? guard.refusal(socket.remoteAddress) : undefined;
      if (refused) req.destroy(new EgressRefusedError(target, refused));
    });
  }

  private classify(err: NodeJS.ErrnoException, target: string): EgressError {
    if (err instanceof EgressError) return err;
    if (isTlsFailure(err)) {
      this.o.log?.debug({ target, code: err.code }, 'callout TLS failed');
      return new EgressTlsError(target, err.code ?? err.message);
    }
    return new EgressConnectError(target, err.code ?? err.message);
  }
}

/** Whether the URL's host is exactly the one the configuration allows private addresses for. */
function trustedHost(url: URL, options: EgressOptions): boolean {
  const allowed = options.allowPrivateFor?.toLowerCase().replace(/\.$/, '');
  return allowed !== undefined && allowed !== '' && url.hostname.toLowerCase().replace(/\.$/, '') === allowed;
}
