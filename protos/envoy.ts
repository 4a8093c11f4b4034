// Where Envoy's API protos are, for every part that loads them (the xDS server's strict codec,
// scripts/gen-json-types.ts, extproc, devproxy, the e2e Envoy driver): the deps/ folder of the
// installed @grpc/grpc-js-xds package, never a copy in this repo (docs/architecture.md#layout-and-dependency-rules).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Options as ProtoLoaderOptions } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** The include path of Envoy's protos and what they import. */
export const envoyProtoDirs: readonly string[] = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  join(deps, d),
);

/** How every gRPC user of Envoy's services loads them: camelCase fields, enums as names, 64-bit as strings. */
export const envoyProtoLoaderOptions: ProtoLoaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [...envoyProtoDirs],
};

/** The .proto files of the xDS resources Gatehouse serves and of every typed config they pack. */
export const envoyConfigProtoFiles: readonly string[] = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
];

/**
 * A protobufjs root with `files` loaded from Envoy's include path (snake_case fields, as in Envoy's
 * JSON), resolved. protobufjs' own folder supplies google/protobuf/descriptor.proto, which the
 * validate annotations import.
 */
export function loadEnvoyRoot(files: readonly string[]): protobuf.Root {
  const includeDirs = [...envoyProtoDirs, dirname(require.resolve('protobufjs/package.json'))];
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    includeDirs.map((d) => join(d, target)).find(existsSync) ?? protobuf.util.path.resolve(origin, target);
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}
