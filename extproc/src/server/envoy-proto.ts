// Envoy's ext_proc service, loaded with @grpc/proto-loader from the protos shipped in
// @grpc/grpc-js-xds (never copied into this repo, DESIGN 2). Field names stay lowerCamelCase
// (keepCase: false), matching the generated types in ./gen: `rawValue`, `stringValue`, ...
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** The include path for Envoy's protos, for anyone else who loads them (tests, the Envoy driver). */
export const ENVOY_PROTO_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: ENVOY_PROTO_DIRS,
};

let loaded: ProtoGrpcType | undefined;

export function envoyProtos(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', PROTO_LOADER_OPTIONS),
  ) as unknown as ProtoGrpcType;
  return loaded;
}

export function externalProcessorService(): grpc.ServiceDefinition {
  return envoyProtos().envoy.service.ext_proc.v3.ExternalProcessor.service;
}
