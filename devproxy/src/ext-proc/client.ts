// The Envoy side's ext_proc gRPC client. It loads Envoy's protos itself (from @grpc/grpc-js-xds) so
// that the Envoy stand-in never imports extproc code: the planes meet only on the wire (docs/architecture.md#layout-and-dependency-rules).
// Types come from the generated (type-only) files.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoLoaderOptions } from '../../../protos/envoy.ts';
import type { ProtoGrpcType } from '../../../protos/gen/envoy/external_processor.ts';
import type { ExternalProcessorClient } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ExternalProcessor.ts';

export type { ExternalProcessorClient };

let protos: ProtoGrpcType | undefined;
let statusNumbers: Map<string, number> | undefined;

function load(): ProtoGrpcType {
  protos ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', envoyProtoLoaderOptions),
  ) as unknown as ProtoGrpcType;
  return protos;
}

/** `credentials`: TLS to an extproc serving it (default plain text). */
export function createExtProcClient(
  address: string,
  options?: grpc.ClientOptions,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): ExternalProcessorClient {
  const { ExternalProcessor } = load().envoy.service.ext_proc.v3;
  return new ExternalProcessor(address, credentials, options);
}

/** HTTP status of an ImmediateResponse: enum names decode to names, codes Envoy has no name for to numbers. */
export function statusNumber(code: string | number): number {
  if (typeof code === 'number') return code;
  if (!statusNumbers) {
    const def = load().envoy.type.v3.StatusCode as unknown as {
      type: { value: Array<{ name: string; number: number }> };
    };
    statusNumbers = new Map(def.type.value.map((v) => [v.name, v.number]));
  }
  return statusNumbers.get(code) ?? 0;
}
