// Envoy's ADS service as a client, loaded with proto-loader from the protos shipped in
// @grpc/grpc-js-xds (the same include path and options as the ext_proc service).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/ads.ts';
import type { AggregatedDiscoveryServiceClient } from '../../../protos/gen/envoy/envoy/service/discovery/v3/AggregatedDiscoveryService.ts';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';

export type { DiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryRequest.ts';
export type { DiscoveryResponse__Output as DiscoveryResponse } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryResponse.ts';
export type { AggregatedDiscoveryServiceClient };

export const runtimeTypeUrl = 'type.googleapis.com/gatehouse.v1.RuntimeSnapshot';

let loaded: ProtoGrpcType | undefined;

/** `credentials`: TLS to the operator (lib/tls grpcChannelCredentials); default plain text. */
export function createAdsClient(
  address: string,
  options: grpc.ChannelOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): AggregatedDiscoveryServiceClient {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', envoyProtoLoaderOptions),
  ) as unknown as ProtoGrpcType;
  return new loaded.envoy.service.discovery.v3.AggregatedDiscoveryService(address, credentials, options);
}
