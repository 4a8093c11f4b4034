// The protos the xDS server speaks, loaded once: Envoy's ADS service (proto-loader, from the protos in
// @grpc/grpc-js-xds's deps/ folder, docs/architecture.md#layout-and-dependency-rules), Gatehouse's RuntimeSnapshot (protobufjs, to encode it)
// and the type URLs served, in the order a new snapshot is pushed.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ProtoGrpcType as DebugProtoGrpcType } from '../../../protos/gen/debug.ts';
import type { DebugTransaction__Output as DebugTransaction } from '../../../protos/gen/gatehouse/v1/DebugTransaction.ts';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/ads.ts';
import type { AggregatedDiscoveryServiceDefinition } from '../../../protos/gen/envoy/envoy/service/discovery/v3/AggregatedDiscoveryService.ts';
import { typeUrls as envoyTypeUrls } from '../compile/envoy/names.ts';

export type { DiscoveryRequest__Output as DiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryRequest.ts';
export type { DiscoveryResponse } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryResponse.ts';
export type { DeltaDiscoveryRequest__Output as DeltaDiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DeltaDiscoveryRequest.ts';
export type { DeltaDiscoveryResponse } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DeltaDiscoveryResponse.ts';
export type { Node__Output as Node } from '../../../protos/gen/envoy/envoy/config/core/v3/Node.ts';
export type { DebugCaptureReport__Output as DebugCaptureReport } from '../../../protos/gen/gatehouse/v1/DebugCaptureReport.ts';
export type { DebugCaptureAck } from '../../../protos/gen/gatehouse/v1/DebugCaptureAck.ts';
export type { DebugTransaction__Output as DebugTransaction } from '../../../protos/gen/gatehouse/v1/DebugTransaction.ts';
export type { AggregatedDiscoveryServiceClient } from '../../../protos/gen/envoy/envoy/service/discovery/v3/AggregatedDiscoveryService.ts';

export const runtimeTypeName = 'gatehouse.v1.RuntimeSnapshot';
/** The one RuntimeSnapshot resource's name. */
export const runtimeResourceName = 'runtime';

export const typeUrls = {
  cluster: envoyTypeUrls.cluster,
  endpoint: envoyTypeUrls.clusterLoadAssignment,
  listener: envoyTypeUrls.listener,
  route: envoyTypeUrls.routeConfiguration,
  runtime: `type.googleapis.com/${runtimeTypeName}`,
  secret: envoyTypeUrls.secret,
} as const;

export type TypeUrl = (typeof typeUrls)[keyof typeof typeUrls];

/**
 * Envoy's warming order: SDS secrets first (a listener or cluster whose certificate has not arrived
 * warms and does not serve), clusters, then their endpoints, before the listeners and routes that use
 * them (a route to a cluster Envoy does not know yet 503s). The runtime snapshot goes last.
 */
export const pushOrder: readonly TypeUrl[] = [
  typeUrls.secret,
  typeUrls.cluster,
  typeUrls.endpoint,
  typeUrls.listener,
  typeUrls.route,
  typeUrls.runtime,
];

/** Types whose empty subscription means "everything" (xDS legacy wildcard; the runtime is one resource). */
export const wildcardTypes: ReadonlySet<string> = new Set([typeUrls.listener, typeUrls.cluster, typeUrls.runtime]);

/** Types served only by name: a "*" subscription to them gets nothing (no node may list every secret). */
export const namedOnlyTypes: ReadonlySet<string> = new Set([typeUrls.secret]);

export const isServedType = (url: string): url is TypeUrl => (pushOrder as readonly string[]).includes(url);

/** Short names for logs, metrics and /debug/nodes. */
export const typeNames: Record<TypeUrl, string> = {
  [typeUrls.cluster]: 'CDS',
  [typeUrls.endpoint]: 'EDS',
  [typeUrls.listener]: 'LDS',
  [typeUrls.route]: 'RDS',
  [typeUrls.runtime]: 'runtime',
  [typeUrls.secret]: 'SDS',
};

let ads: ProtoGrpcType | undefined;

function adsProtos(): ProtoGrpcType {
  ads ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', envoyProtoLoaderOptions),
  ) as unknown as ProtoGrpcType;
  return ads;
}

export function adsService(): AggregatedDiscoveryServiceDefinition {
  return adsProtos().envoy.service.discovery.v3.AggregatedDiscoveryService.service;
}

/** A client constructor, for tests and the benchmark's raw ADS client. */
export function adsClient(address: string, options: grpc.ChannelOptions = {}) {
  const Client = adsProtos().envoy.service.discovery.v3.AggregatedDiscoveryService;
  return new Client(address, grpc.credentials.createInsecure(), options);
}

let runtime: protobuf.Root | undefined;

export function runtimeRoot(): protobuf.Root {
  runtime ??= protobuf.loadSync(new URL('../../../protos/gatehouse/v1/runtime.proto', import.meta.url).pathname);
  return runtime;
}

/** The options the generated types in protos/gen/gatehouse were made with (scripts/gen-protos.ts). */
const gatehouseLoaderOptions: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [fileURLToPath(new URL('../../../protos', import.meta.url))],
};

let debug: DebugProtoGrpcType | undefined;

/** gatehouse.v1.DebugCaptureService (protos/gatehouse/v1/debug.proto), served beside ADS. */
export function debugProtos(): DebugProtoGrpcType {
  debug ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('gatehouse/v1/debug.proto', gatehouseLoaderOptions),
  ) as unknown as DebugProtoGrpcType;
  return debug;
}

let transactionType: protobuf.Type | undefined;

/** A captured transaction's size on the wire, as extproc bounds it (max_transaction_bytes). */
export function debugTransactionBytes(transaction: DebugTransaction): number {
  transactionType ??= protobuf
    .loadSync(fileURLToPath(new URL('../../../protos/gatehouse/v1/debug.proto', import.meta.url)))
    .lookupType('gatehouse.v1.DebugTransaction');
  return transactionType.encode(transactionType.fromObject(transaction)).finish().length;
}
