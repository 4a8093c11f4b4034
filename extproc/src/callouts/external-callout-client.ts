// The gRPC side of the ExternalCallout policy (docs/policies.md#externalcallout): one grpc-js client
// per callout target (address and TLS material), kept while it is used, so requests and snapshots
// that name the same target share its HTTP/2 connection. The policy sees only the ExternalCallouts
// interface (flow/types.ts): the engine knows nothing of gRPC (docs/layering.md).
//
// Failure is bounded: every call carries its deadline (a hung server gives DEADLINE_EXCEEDED at the
// policy's TimeoutMs), calls fail fast when the server is unreachable (no wait-for-ready), and a reply
// larger than maxReceiveBytes is refused by grpc-js before it is buffered whole.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import type { ExternalCalloutServiceClient } from '../../../protos/gen/apigee/ExternalCalloutService.ts';
import type { MessageContext, MessageContext__Output } from '../../../protos/gen/apigee/MessageContext.ts';
import type { ProtoGrpcType } from '../../../protos/gen/external_callout.ts';
import { CalloutCallError, CalloutTlsError } from '../flow/faults.ts';
import type { CalloutTarget, ExternalCallouts } from '../flow/types.ts';

const PROTOS = fileURLToPath(new URL('../../../protos', import.meta.url));

/** The options the generated types in protos/gen/apigee were made with (scripts/gen-protos.ts). */
const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTOS],
};

let loaded: ProtoGrpcType | undefined;

/** Apigee's ExternalCalloutService, loaded from protos/apigee/external_callout.proto. */
export function externalCalloutProtos(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('apigee/external_callout.proto', LOADER_OPTIONS),
  ) as unknown as ProtoGrpcType;
  return loaded;
}

export interface GrpcCalloutsOptions {
  log: Logger;
  /** Largest reply accepted, bytes; default 4 MiB. */
  maxReceiveBytes?: number;
  /** A client unused this long is closed (at the next call); default 5 minutes. */
  idleMs?: number;
  /** Milliseconds, for idle tracking; injectable for tests. */
  now?: () => number;
}

interface PooledClient {
  client: ExternalCalloutServiceClient;
  lastUsed: number;
}

const DEFAULT_MAX_RECEIVE = 4 * 1024 * 1024;
const DEFAULT_IDLE_MS = 5 * 60_000;

/** The failure of a call as the status name and details grpc-js gives, nothing else. */
function callFailure(err: unknown): CalloutCallError {
  const e = err as Partial<grpc.ServiceError> | undefined;
  const code = typeof e?.code === 'number' ? (grpc.status[e.code] ?? String(e.code)) : 'UNKNOWN';
  const details = typeof e?.details === 'string' && e.details !== '' ? e.details : 'call failed';
  return new CalloutCallError(`${code}: ${details}`);
}

export class GrpcCallouts implements ExternalCallouts {
  private readonly clients = new Map<string, PooledClient>();
  private readonly log: Logger;
  private readonly maxReceiveBytes: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(options: GrpcCalloutsOptions) {
    this.log = options.log;
    this.maxReceiveBytes = options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.now = options.now ?? Date.now;
  }

  /** Clients open now (one per target in use). */
  get size(): number {
    return this.clients.size;
  }

  call(target: CalloutTarget, message: MessageContext, timeoutMs: number): Promise<MessageContext__Output> {
    let client: ExternalCalloutServiceClient;
    try {
      client = this.clientFor(target);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new CalloutCallError(String(err)));
    }
    return new Promise((resolve, reject) => {
      client.processMessage(message, { deadline: Date.now() + timeoutMs }, (err, reply) => {
        if (err || !reply) reject(callFailure(err));
        else resolve(reply);
      });
    });
  }

  /** Closes every client; later calls fail. */
  close(): void {
    this.closed = true;
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  private clientFor(target: CalloutTarget): ExternalCalloutServiceClient {
    if (this.closed) throw new CalloutCallError('UNAVAILABLE: the callout client is closed');
    const now = this.now();
    this.evictIdle(now);
    // The key holds a digest of the TLS material, never the material: a rotated Secret gets a new
    // client and the old one idles out.
    const key = `${target.address}\u0000${target.tls ? createHash('sha256').update(JSON.stringify(target.tls)).digest('hex') : 'plaintext'}`;
    const pooled = this.clients.get(key);
    if (pooled) {
      pooled.lastUsed = now;
      return pooled.client;
    }
    const Service = externalCalloutProtos().apigee.ExternalCalloutService;
    const client = new Service(target.address, this.credentials(target), {
      'grpc.max_receive_message_length': this.maxReceiveBytes,
      // Calls fail at once while the channel is down (no wait-for-ready): keep the reconnect backoff
      // short, so a restarted callout server is used again within seconds, not grpc's 120 s maximum.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...(target.tls?.serverName
        ? { 'grpc.ssl_target_name_override': target.tls.serverName, 'grpc.default_authority': target.tls.serverName }
        : {}),
    });
    this.clients.set(key, { client, lastUsed: now });
    this.log.debug({ address: target.address, tls: target.tls !== undefined }, 'external callout client opened');
    return client;
  }

  private credentials(target: CalloutTarget): grpc.ChannelCredentials {
    const tls = target.tls;
    if (!tls) return grpc.credentials.createInsecure();
    try {
      return grpc.credentials.createSsl(
        tls.ca !== undefined ? Buffer.from(tls.ca) : null,
        tls.key !== undefined ? Buffer.from(tls.key) : null,
        tls.cert !== undefined ? Buffer.from(tls.cert) : null,
      );
    } catch (err) {
      // Node's message names what is wrong (bad PEM, key and certificate mismatch), never the material.
      throw new CalloutTlsError((err as Error).message);
    }
  }

  private evictIdle(now: number): void {
    for (const [key, pooled] of this.clients) {
      if (now - pooled.lastUsed < this.idleMs) continue;
      pooled.client.close();
      this.clients.delete(key);
    }
  }
}
