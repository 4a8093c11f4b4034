// Generates TypeScript types for the proto3 JSON mapping of the messages Gatehouse writes as JSON into
// protos/gen/json (checked in; a test fails when stale): the Envoy resources compile emits (and the
// bootstrap, the SDS files), with their field names as in the .proto files (snake_case, as Envoy's own
// JSON and our goldens spell them), and gatehouse.v1's RuntimeSnapshot with lowerCamelCase JSON names.
// Only the messages and enums these reach are typed, one file per proto package.
//
// proto-loader-gen-types (protos/gen/envoy) types the binary form as protobufjs decodes it (camelCase,
// Any as {type_url, value}, Duration as {seconds, nanos}, wrappers as {value}); this types the JSON
// form: Duration, Timestamp and 64-bit integers as strings, wrappers as their primitive, Struct as
// JSON, enums as unions of their value names, every field optional (oneof members included: the
// strict encoder rejects two members of one oneof), and Any as a union over the types we pack, each
// `{'@type': url} & Message`, so a misspelt field or a wrong type in an emitter is a tsc error.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { envoyConfigProtoFiles, loadEnvoyRoot } from '../protos/envoy.ts';

const repo = new URL('..', import.meta.url).pathname;
const outDir = process.argv[2] ?? join(repo, 'protos/gen/json');

interface Schema {
  root: protobuf.Root;
  /** Where the protos come from, for the file headers. */
  source: string;
  /** The messages written as JSON; everything they reach is typed too. */
  messages: string[];
  /** The messages packed in an Any, each a member of the google.protobuf.Any union. */
  packed: string[];
  /** proto: the .proto field names (Envoy); json: lowerCamelCase JSON names (gatehouse.v1). */
  fieldNames: 'proto' | 'json';
}

const envoyApi = '@grpc/grpc-js-xds deps/ (Envoy API)';
const schemas: Schema[] = [
  {
    root: loadEnvoyRoot([
      ...envoyConfigProtoFiles,
      'envoy/service/discovery/v3/discovery.proto',
      'envoy/config/bootstrap/v3/bootstrap.proto',
      'envoy/extensions/filters/http/health_check/v3/health_check.proto',
    ]),
    source: envoyApi,
    messages: [
      // xDS resources (operator/src/compile/envoy)
      'envoy.config.listener.v3.Listener',
      'envoy.config.route.v3.RouteConfiguration',
      'envoy.config.cluster.v3.Cluster',
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      // SDS secrets (operator/src/xds/sds.ts) and filesystem SDS files
      'envoy.extensions.transport_sockets.tls.v3.Secret',
      'envoy.service.discovery.v3.DiscoveryResponse',
      // DataPlane bootstrap (operator/src/controllers/dataplane/bootstrap.ts)
      'envoy.config.bootstrap.v3.Bootstrap',
    ],
    packed: [
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
      'envoy.extensions.filters.http.router.v3.Router',
      'envoy.extensions.filters.http.health_check.v3.HealthCheck',
      'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      'envoy.extensions.transport_sockets.tls.v3.Secret',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
      'envoy.config.trace.v3.OpenTelemetryConfig',
    ],
    fieldNames: 'proto',
  },
  {
    root: (() => {
      const root = new protobuf.Root();
      root.loadSync(join(repo, 'protos/gatehouse/v1/runtime.proto'), { keepCase: true });
      root.resolveAll();
      return root;
    })(),
    source: 'protos/gatehouse/v1',
    messages: ['gatehouse.v1.RuntimeSnapshot'],
    packed: [],
    fieldNames: 'json',
  },
];

/** The proto3 JSON form of the well-known types, in google.protobuf.ts. */
const wellKnown: Record<string, string> = {
  Duration: 'string',
  Timestamp: 'string',
  FieldMask: 'string',
  Empty: 'Record<string, never>',
  Struct: '{ [key: string]: Value }',
  Value: 'null | boolean | number | string | Value[] | { [key: string]: Value }',
  ListValue: 'Value[]',
  NullValue: 'null',
  DoubleValue: 'number',
  FloatValue: 'number',
  Int64Value: 'string',
  UInt64Value: 'string',
  Int32Value: 'number',
  UInt32Value: 'number',
  BoolValue: 'boolean',
  StringValue: 'string',
  BytesValue: 'string',
};
const wellKnownPackage = 'google.protobuf';

const scalars: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'string',
  uint64: 'string',
  sint64: 'string',
  fixed64: 'string',
  sfixed64: 'string',
  bool: 'boolean',
  string: 'string',
  bytes: 'string',
};

type Named = protobuf.Type | protobuf.Enum;

const fullName = (t: protobuf.ReflectionObject) => t.fullName.slice(1);

/** The proto package of a message or enum (nested ones: their outermost message's). */
function packageOf(t: Named): string {
  let top: protobuf.ReflectionObject = t;
  while (top.parent instanceof protobuf.Type) top = top.parent;
  return fullName(top.parent!);
}

/** Nested types joined with `_`: envoy.config.cluster.v3.Cluster.DiscoveryType -> Cluster_DiscoveryType. */
const localName = (t: Named) =>
  fullName(t)
    .slice(packageOf(t).length + 1)
    .replaceAll('.', '_');
const moduleAlias = (pkg: string) => pkg.replaceAll('.', '_');

/** protoc's ToJsonName: underscores dropped, the letter after one upper-cased. */
const jsonName = (name: string) => name.replace(/_+([a-zA-Z0-9])?/g, (_m, c?: string) => (c ?? '').toUpperCase());

const isWellKnown = (t: Named) => packageOf(t) === wellKnownPackage && (t.name in wellKnown || t.name === 'Any');

class PackageFile {
  readonly imports = new Set<string>();
  readonly decls = new Map<string, string>();
  readonly pkg: string;

  constructor(pkg: string) {
    this.pkg = pkg;
  }

  ref(t: Named): string {
    const pkg = packageOf(t);
    if (pkg === this.pkg) return localName(t);
    this.imports.add(pkg);
    return `${moduleAlias(pkg)}.${localName(t)}`;
  }
}

const files = new Map<string, PackageFile>();
const sources = new Map<string, string>();
const fileOf = (pkg: string) => {
  let f = files.get(pkg);
  if (!f) files.set(pkg, (f = new PackageFile(pkg)));
  return f;
};

function doc(lines: string[]): string {
  if (lines.length === 0) return '';
  return lines.length === 1 ? `  /** ${lines[0]} */\n` : `  /**\n${lines.map((l) => `   * ${l}\n`).join('')}   */\n`;
}

function fieldType(file: PackageFile, field: protobuf.Field, queue: Named[]): string {
  field.resolve();
  const resolved = field.resolvedType;
  let base: string;
  if (resolved) {
    if (!isWellKnown(resolved)) queue.push(resolved);
    base = file.ref(resolved);
  } else {
    base = scalars[field.type] ?? '';
    if (!base) throw new Error(`${fullName(field)}: no JSON type for ${field.type}`);
  }
  if (field.map) return `{ [key: string]: ${base} }`;
  return field.repeated ? `${base}[]` : base;
}

function declareMessage(schema: Schema, type: protobuf.Type, queue: Named[]): void {
  const file = fileOf(packageOf(type));
  const name = localName(type);
  if (type.fieldsArray.length === 0) {
    file.decls.set(name, `export type ${name} = Record<string, never>;\n`);
    return;
  }
  let body = '';
  for (const field of type.fieldsArray) {
    const notes: string[] = [];
    const oneof = field.partOf;
    // proto3 `optional` is a oneof of one member named after the field: not a choice.
    if (oneof && !(oneof.fieldsArray.length === 1 && oneof.name === `_${field.name}`))
      notes.push(`oneof \`${oneof.name}\`: ${oneof.fieldsArray.map((f) => f.name).join(' | ')}`);
    if (field.options?.deprecated === true) notes.push('@deprecated');
    const key = schema.fieldNames === 'json' ? jsonName(field.name) : field.name;
    body += `${doc(notes)}  ${key}?: ${fieldType(file, field, queue)};\n`;
  }
  file.decls.set(name, `export interface ${name} {\n${body}}\n`);
}

function declareEnum(e: protobuf.Enum): void {
  const file = fileOf(packageOf(e));
  const name = localName(e);
  const values = Object.keys(e.values).map((v) => `  | '${v}'`);
  file.decls.set(name, `export type ${name} =\n${values.join('\n')};\n`);
}

for (const schema of schemas) {
  const queue: Named[] = [...schema.messages, ...schema.packed].map((n) => schema.root.lookupTypeOrEnum(n));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const t = queue.pop()!;
    if (seen.has(t.fullName)) continue;
    seen.add(t.fullName);
    const pkg = packageOf(t);
    sources.set(pkg, schema.source);
    const existing = fileOf(pkg).decls.has(localName(t));
    if (existing) throw new Error(`${fullName(t)}: two types named ${localName(t)} in ${pkg}`);
    if (t instanceof protobuf.Type) declareMessage(schema, t, queue);
    else declareEnum(t);
  }
}

// google.protobuf: the well-known types' JSON forms, and Any as the union of what we pack.
const google = fileOf(wellKnownPackage);
sources.set(wellKnownPackage, "protobuf's well-known types (their proto3 JSON forms)");
for (const [name, type] of Object.entries(wellKnown)) google.decls.set(name, `export type ${name} = ${type};\n`);
const packed = schemas
  .flatMap((s) => s.packed.map((n) => s.root.lookupType(n)))
  .sort((a, b) => cmp(a.fullName, b.fullName));
google.decls.set(
  'Packed',
  `/** The messages Gatehouse packs in an Any, by type URL (scripts/gen-json-types.ts lists them). */\nexport interface Packed {\n${packed
    .map((t) => `  'type.googleapis.com/${fullName(t)}': ${google.ref(t)};\n`)
    .join('')}}\n`,
);
google.decls.set(
  'Any',
  "/** An Any as proto3 JSON: `@type` beside the packed message's own fields; one of Packed. */\nexport type Any = { [U in keyof Packed]: AnyOf<U> }[keyof Packed];\n",
);
google.decls.set(
  'AnyOf',
  "/** An Any packing the message of type URL `U`. */\nexport type AnyOf<U extends keyof Packed> = { '@type': U } & Packed[U];\n",
);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const file of [...files.values()].sort((a, b) => cmp(a.pkg, b.pkg))) {
  const header =
    `// Generated by scripts/gen-json-types.ts from ${sources.get(file.pkg)}; do not edit.\n` +
    `// Package ${file.pkg}, as proto3 JSON: only what Gatehouse writes reaches here.\n`;
  const imports = [...file.imports]
    .sort(cmp)
    .map((pkg) => `import type * as ${moduleAlias(pkg)} from './${pkg}.ts';\n`)
    .join('');
  const decls = [...file.decls.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([, d]) => d)
    .join('\n');
  writeFileSync(join(outDir, `${file.pkg}.ts`), `${header}${imports ? `\n${imports}` : ''}\n${decls}`);
}
