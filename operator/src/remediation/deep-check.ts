// The operator's own check of an extproc pod, deeper than the kubelet's HTTP probes (docs/architecture.md#the-operator): over
// the pod's gRPC port, the standard health service must say SERVING for the ext_proc service, and a
// real ext_proc round trip must be answered, all within one short deadline. The round trip is one
// stream, as Envoy opens per request: request headers of a synthetic GET with no route metadata, so
// it touches no API proxy and no store. A healthy extproc answers it with an ImmediateResponse (404
// gatehouse.RouteNotFound today) or a headers response; a 5xx ImmediateResponse, a gRPC error, no
// reply in time or no connection at all is a failure. It speaks the protocol from Envoy's protos
// (protos/envoy.ts), never by importing extproc code: the planes meet only on the wire (docs/architecture.md#layout-and-dependency-rules).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/external_processor.ts';
import type { ExternalProcessorClient } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ExternalProcessor.ts';
import type { ProcessingResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { grpcChannelCredentials } from '../../../lib/tls/grpc.ts';
import { defaultTlsPolicy } from '../../../lib/tls/policy.ts';
import type { MaterialSource } from '../../../lib/tls/watcher.ts';
import { DeepCheckFailure } from './errors.ts';
import { extprocServiceHost, ports } from '../api/names.ts';

/** The gRPC service name extproc reports health for (extproc/src/server/server.ts). */
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
export const DEFAULT_DEEP_CHECK_PORT = ports.extprocGrpc;
/** A header that tells the pod's logs what this request is. */
export const DEEP_CHECK_HEADER = 'x-gatehouse-deep-check';

export interface DeepCheckerOptions {
  /** The extproc gRPC port on the pod (default 9002). */
  port?: number;
  /** One deadline for the whole check: connect, health, round trip (default 2000 ms). */
  timeoutMs?: number;
  /**
   * Channel credentials (default plaintext). Under mutual TLS: the operator's client certificate, and
   * the server verified against a name of the pod's DataPlane (the pod IP dialled is in no
   * certificate), so they are built per target.
   */
  credentials?: (target?: DeepCheckContext) => grpc.ChannelCredentials;
}

/** Whose extproc is checked: the pod's DataPlane. */
export interface DeepCheckContext {
  namespace: string;
  dataPlane: string;
}

export interface DeepCheckResult {
  ok: boolean;
  /** What failed and how ("health: NOT_SERVING"), or what answered ("ext_proc: 404 ImmediateResponse"). */
  message: string;
}

type HealthClient = grpc.Client & {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: { status?: string }) => void,
  ): grpc.ClientUnaryCall;
};

let protos: ProtoGrpcType | undefined;
let statusNames: Map<string, number> | undefined;
let HealthConstructor:
  | (new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => HealthClient)
  | undefined;

/** Loaded on first use: Envoy's protos take a moment to parse, and most operators never check. */
function load(): ProtoGrpcType {
  protos ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', envoyProtoLoaderOptions),
  ) as unknown as ProtoGrpcType;
  return protos;
}

/** The HTTP status of an ImmediateResponse: enum names decode to names, codes Envoy has no name for to numbers. */
function httpStatus(code: string | number | undefined): number {
  if (typeof code === 'number') return code;
  if (!statusNames) {
    const def = load().envoy.type.v3.StatusCode as unknown as { type: { value: { name: string; number: number }[] } };
    statusNames = new Map(def.type.value.map((v) => [v.name, v.number]));
  }
  return statusNames.get(code ?? '') ?? 0;
}

/**
 * The deep check under mutual TLS: the operator presents its certificate from `source` (the issued
 * gatehouse-xds-tls, clientAuth too) and trusts that Secret's ca.crt (the operator CA and every
 * DataPlane's user CA). The pod is dialled by IP, which no certificate carries, so the server must
 * present its DataPlane's extproc Service name (what the extproc leaf carries). `ready` holds the
 * checks back until the certificate is loaded: without it every healthy pod would fail.
 */
export function mutualTlsDeepCheck(
  source: MaterialSource,
): Required<Pick<DeepCheckerOptions, 'credentials'>> & { ready: () => boolean } {
  return {
    credentials: (target) =>
      grpcChannelCredentials({
        source,
        policy: defaultTlsPolicy,
        ...(target ? { serverName: extprocServiceHost(target.namespace, target.dataPlane) } : {}),
      }),
    ready: () => source.current() !== undefined,
  };
}

export function podAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export class DeepChecker {
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly credentials: (target?: DeepCheckContext) => grpc.ChannelCredentials;

  constructor(options: DeepCheckerOptions = {}) {
    this.port = options.port ?? DEFAULT_DEEP_CHECK_PORT;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.credentials = options.credentials ?? (() => grpc.credentials.createInsecure());
  }

  /** Checks the extproc at `ip` (a pod of `target`'s DataPlane); never throws. */
  async check(ip: string, target?: DeepCheckContext): Promise<DeepCheckResult> {
    const address = podAddress(ip, this.port);
    const deadline = Date.now() + this.timeoutMs;
    const { ExternalProcessor } = load().envoy.service.ext_proc.v3;
    // A connection of its own (no shared subchannel): the check proves the pod accepts connections now.
    let credentials: grpc.ChannelCredentials;
    try {
      credentials = this.credentials(target);
    } catch (err) {
      return { ok: false, message: `credentials: ${(err as Error).message}` };
    }
    const extproc = new ExternalProcessor(address, credentials, { 'grpc.use_local_subchannel_pool': 1 });
    HealthConstructor ??= grpc.makeGenericClientConstructor(
      healthService,
      'Health',
    ) as unknown as typeof HealthConstructor;
    const health = new HealthConstructor!(address, credentials, { channelOverride: extproc.getChannel() });
    try {
      const status = await checkHealth(health, deadline);
      if (status !== 'SERVING') throw new DeepCheckFailure('health', status ?? 'UNKNOWN');
      const reply = await roundTrip(extproc, deadline, this.timeoutMs);
      return { ok: true, message: `ext_proc: ${describe(reply)}` };
    } catch (err) {
      return {
        ok: false,
        message: err instanceof DeepCheckFailure ? err.message : `unexpected: ${(err as Error).message}`,
      };
    } finally {
      extproc.close();
    }
  }
}

function checkHealth(client: HealthClient, deadline: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    client.Check({ service: EXT_PROC_SERVICE }, { deadline }, (err, reply) => {
      if (err) reject(new DeepCheckFailure('health', grpcError(err)));
      else resolve(reply?.status);
    });
  });
}

function roundTrip(
  client: ExternalProcessorClient,
  deadline: number,
  timeoutMs: number,
): Promise<ProcessingResponse__Output> {
  return new Promise((resolve, reject) => {
    const call = client.process({ deadline });
    let settled = false;
    const finish = (err: DeepCheckFailure | undefined, reply?: ProcessingResponse__Output) => {
      if (settled) return;
      settled = true;
      call.cancel();
      if (err) reject(err);
      else resolve(reply!);
    };
    call.on('data', (reply: ProcessingResponse__Output) => {
      if (reply.response === 'immediateResponse' && httpStatus(reply.immediateResponse?.status?.code) >= 500) {
        const r = reply.immediateResponse!;
        finish(
          new DeepCheckFailure(
            'ext_proc',
            `${httpStatus(r.status?.code)} ImmediateResponse${r.details ? ` (${r.details})` : ''}`,
          ),
        );
      } else if (reply.response === 'immediateResponse' || reply.response === 'requestHeaders') {
        finish(undefined, reply);
      } else {
        finish(new DeepCheckFailure('ext_proc', `unexpected reply ${reply.response ?? '(none)'} to request headers`));
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      finish(
        new DeepCheckFailure(
          'ext_proc',
          err.code === grpc.status.DEADLINE_EXCEEDED ? `no reply within ${timeoutMs} ms` : grpcError(err),
        ),
      );
    });
    call.on('end', () => finish(new DeepCheckFailure('ext_proc', 'the stream ended without a reply')));
    call.write({
      requestHeaders: {
        headers: {
          headers: (
            [
              [':method', 'GET'],
              [':scheme', 'http'],
              [':authority', 'gatehouse-deep-check'],
              [':path', '/'],
              [DEEP_CHECK_HEADER, '1'],
            ] as const
          ).map(([key, value]) => ({ key, rawValue: Buffer.from(value, 'latin1') })),
        },
        endOfStream: true,
      },
    });
  });
}

function describe(reply: ProcessingResponse__Output): string {
  if (reply.response === 'immediateResponse') {
    const r = reply.immediateResponse!;
    return `${httpStatus(r.status?.code)} ImmediateResponse${r.details ? ` (${r.details})` : ''}`;
  }
  return 'request headers continued';
}

function grpcError(err: grpc.ServiceError): string {
  const name = Object.entries(grpc.status).find(([, v]) => v === err.code)?.[0] ?? String(err.code);
  return `${name}: ${err.details || err.message}`;
}
