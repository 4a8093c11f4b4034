// A state-of-the-world ADS client (envoy.service.discovery.v3.AggregatedDiscoveryService) as Envoy
// runs one: CDS and LDS subscribed as wildcards at start, EDS/RDS/SDS by the names the applied config
// refers to; every response applied in order, then ACKed (version + nonce) or, when a resource cannot
// be applied, NACKed with error_detail and the previously accepted version, keeping the old config.
// The stream reconnects with jittered exponential backoff, re-sending the accepted versions. Over TLS
// (mutual, as Envoy's bootstrap dials the operator) when given credentials.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from '../../../lib/log.ts';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/ads.ts';
import type { AggregatedDiscoveryServiceClient } from '../../../protos/gen/envoy/envoy/service/discovery/v3/AggregatedDiscoveryService.ts';
import type { DiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryRequest.ts';
import type { DiscoveryResponse__Output } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryResponse.ts';
import { ConfigRejectedError } from '../errors.ts';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';
import { unpackAny, type Decoded } from './envoy-protos.ts';

export interface XdsResourceType {
  typeUrl: string;
  /** LDS and CDS: every resource (wildcard). Others: the names `names()` returns, once there are any. */
  names?: () => string[];
  /** Applies the resources of a response; throws ConfigRejectedError to NACK it. */
  apply: (resources: Decoded[]) => void | Promise<void>;
}

export interface AdsClientOptions {
  address: string;
  nodeId: string;
  nodeCluster?: string;
  types: XdsResourceType[];
  log: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /** TLS to the xDS server (lib/tls grpcChannelCredentials); default plain text. */
  credentials?: grpc.ChannelCredentials;
}

interface TypeState {
  type: XdsResourceType;
  acceptedVersion: string;
  nonce: string;
  /** Names last sent; undefined while not subscribed. */
  sentNames: string[] | undefined;
}

const grpcInvalidArgument = 3;

function adsClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): AggregatedDiscoveryServiceClient {
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', envoyProtoLoaderOptions);
  const { AggregatedDiscoveryService } = (grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType).envoy.service
    .discovery.v3;
  return new AggregatedDiscoveryService(address, credentials);
}

export class AdsClient {
  private readonly options: AdsClientOptions;
  private readonly states = new Map<string, TypeState>();
  private client: AggregatedDiscoveryServiceClient | undefined;
  private call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output> | undefined;
  private applying: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(options: AdsClientOptions) {
    this.options = options;
    for (const type of options.types)
      this.states.set(type.typeUrl, { type, acceptedVersion: '', nonce: '', sentNames: undefined });
  }

  start(): void {
    this.client ??= adsClient(this.options.address, this.options.credentials);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const call = this.call;
    this.call = undefined; // responses still being applied are dropped
    call?.cancel();
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const call = this.client!.streamAggregatedResources();
    this.call = call;
    let first = true;
    call.on('data', (res: DiscoveryResponse__Output) => {
      if (first) {
        first = false;
        this.attempt = 0;
        this.options.log.info({ xds: this.options.address }, 'xDS stream established');
      }
      this.applying = this.applying.then(() => this.onResponse(call, res));
    });
    call.on('error', () => undefined); // the status event follows
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call !== call) return;
      this.call = undefined;
      if (this.stopped) return;
      const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 250, maxMs: 10_000 };
      const delay = Math.min(maxMs, initialMs * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.options.log.warn(
        { code: status.code, details: status.details, retryMs: Math.round(delay) },
        'xDS stream ended; keeping the last configuration and reconnecting',
      );
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
    // A new stream starts afresh: nothing is subscribed on it, nonces are per stream.
    for (const state of this.states.values()) {
      state.nonce = '';
      state.sentNames = undefined;
    }
    this.subscribe(call, true);
  }

  /** Sends a request for every type whose subscription is new or whose names changed. */
  private subscribe(
    call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>,
    includeNode: boolean,
  ): void {
    let node = includeNode;
    for (const state of this.states.values()) {
      const names = state.type.names ? [...new Set(state.type.names())].sort() : [];
      if (state.sentNames && names.join('\0') === state.sentNames.join('\0')) continue;
      // Named types wait until the config refers to something, as Envoy's do.
      if (state.type.names && names.length === 0 && state.sentNames === undefined) continue;
      this.send(call, state, names, node);
      node = false;
    }
  }

  private send(
    call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>,
    state: TypeState,
    names: string[],
    node: boolean,
    errorDetail?: string,
  ): void {
    state.sentNames = names;
    call.write({
      versionInfo: state.acceptedVersion,
      // Envoy sends the node only on a stream's first request.
      ...(node
        ? {
            node: {
              id: this.options.nodeId,
              cluster: this.options.nodeCluster ?? 'gatehouse-devproxy',
              userAgentName: 'gatehouse-devproxy',
            },
          }
        : {}),
      resourceNames: names,
      typeUrl: state.type.typeUrl,
      responseNonce: state.nonce,
      ...(errorDetail !== undefined ? { errorDetail: { code: grpcInvalidArgument, message: errorDetail } } : {}),
    });
  }

  private async onResponse(
    call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>,
    res: DiscoveryResponse__Output,
  ): Promise<void> {
    if (this.call !== call) return;
    const state = this.states.get(res.typeUrl);
    if (!state) {
      this.options.log.warn({ typeUrl: res.typeUrl }, 'xDS response of a type never subscribed; ignored');
      return;
    }
    state.nonce = res.nonce;
    let error: string | undefined;
    try {
      const resources = res.resources.map((r) => unpackAny(r, res.typeUrl));
      await state.type.apply(resources);
    } catch (err) {
      // Anything that keeps the update from applying is a NACK; the stream carries on.
      error = err instanceof ConfigRejectedError ? err.message : `cannot apply: ${(err as Error).message}`;
    }
    if (this.call !== call) return;
    if (error === undefined) {
      state.acceptedVersion = res.versionInfo;
      this.send(call, state, state.sentNames ?? [], false);
      this.options.log.info(
        { typeUrl: res.typeUrl, version: res.versionInfo, resources: res.resources.length },
        'xDS update accepted',
      );
      // What the new config refers to (EDS for new clusters, RDS for new listeners) is asked for next.
      this.subscribe(call, false);
    } else {
      this.send(call, state, state.sentNames ?? [], false, error);
      this.options.log.error(
        { typeUrl: res.typeUrl, version: res.versionInfo, error },
        'xDS update rejected (NACK); keeping the previous configuration',
      );
    }
  }
}
