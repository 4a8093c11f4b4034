// Envoy's ext_proc service, loaded with @grpc/proto-loader from the protos shipped in
// @grpc/grpc-js-xds (never copied into this repo, docs/architecture.md#layout-and-dependency-rules). Field names stay lowerCamelCase
// (keepCase: false), matching the generated types in protos/gen/envoy: `rawValue`, `stringValue`, ...
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/external_processor.ts';

export type { ProcessingRequest__Output as ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
export type { ProcessingResponse } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
export type { CommonResponse } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/CommonResponse.ts';
export type { HeaderMutation } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/HeaderMutation.ts';
export type { ImmediateResponse } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ImmediateResponse.ts';
export type { HeaderValueOption } from '../../../protos/gen/envoy/envoy/config/core/v3/HeaderValueOption.ts';
export type { HeaderMap__Output as EnvoyHeaderMap } from '../../../protos/gen/envoy/envoy/config/core/v3/HeaderMap.ts';
export type { Struct__Output as Struct } from '../../../protos/gen/envoy/google/protobuf/Struct.ts';
export type { ExternalProcessorClient } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ExternalProcessor.ts';

let loaded: ProtoGrpcType | undefined;

export function envoyProtos(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', envoyProtoLoaderOptions),
  ) as unknown as ProtoGrpcType;
  return loaded;
}

export function externalProcessorService(): grpc.ServiceDefinition {
  return envoyProtos().envoy.service.ext_proc.v3.ExternalProcessor.service;
}
