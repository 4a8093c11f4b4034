// Proves Envoy-facing JSON against Envoy's real API protos (docs/architecture-devproxy.md.1), from the @grpc/grpc-js-xds
// package. protobufjs' fromObject silently drops unknown fields and does not understand the proto3
// JSON forms of well-known types, so this walks the JSON against each message type itself: unknown
// fields, wrong scalar types, unknown enum values, two members of one oneof and `@type` URLs that do
// not resolve are errors; Duration strings, wrappers, Struct and Any are converted. Then the message
// is encoded, decoded and re-encoded to the same bytes. The xDS server encodes every resource it serves
// with it (resources.ts, sds.ts) and tests hold compile's goldens, examples and the DataPlane bootstrap
// to it. It lives here, not in compile: it reads Envoy's .proto files, and compile does no I/O.
import protobuf from 'protobufjs';
import { GatehouseError } from '../../../lib/errors.ts';
import { envoyConfigProtoFiles, loadEnvoyRoot } from '../../../protos/envoy.ts';

/** A resource that Envoy would reject or misread. */
export class EnvoyProtoError extends GatehouseError {
  readonly problems: string[];

  constructor(typeName: string, problems: string[]) {
    super('GH_ERR_ENVOY_PROTO', `${typeName}: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** The .proto files of every type Gatehouse emits, and of every Any it packs. */
const protoFiles = [...envoyConfigProtoFiles, 'envoy/service/discovery/v3/discovery.proto'];

/** The message type of each collection of `gatehouse compile`'s `envoy` output. */
export const envoyCollectionTypes = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

let cachedRoot: protobuf.Root | undefined;

export function envoyRoot(): protobuf.Root {
  cachedRoot ??= loadEnvoyRoot(protoFiles);
  return cachedRoot;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const wrappers = new Set(
  [
    'DoubleValue',
    'FloatValue',
    'Int64Value',
    'UInt64Value',
    'Int32Value',
    'UInt32Value',
    'BoolValue',
    'StringValue',
    'BytesValue',
  ].map((n) => `.google.protobuf.${n}`),
);

interface TypeInfo {
  /** protobufjs computes fullName on every read, walking up the namespaces. */
  fullName: string;
  /** Field lookup by proto name and by lowerCamelCase JSON name (both are valid proto3 JSON). */
  fields: ReadonlyMap<string, protobuf.Field>;
}

const typeInfos = new WeakMap<protobuf.Type, TypeInfo>();

/** Built once per type: Envoy's messages have dozens of fields, and a route table has thousands of messages. */
function typeInfo(type: protobuf.Type): TypeInfo {
  let info = typeInfos.get(type);
  if (!info) {
    info = {
      fullName: type.fullName,
      fields: new Map(
        type.fieldsArray.flatMap((f) => [
          [f.name, f],
          [protobuf.util.camelCase(f.name), f],
        ]),
      ),
    };
    typeInfos.set(type, info);
  }
  return info;
}

class Converter {
  readonly problems: string[] = [];
  readonly root: protobuf.Root;

  constructor(root: protobuf.Root) {
    this.root = root;
  }

  problem(path: string, message: string): undefined {
    this.problems.push(`${path}: ${message}`);
    return undefined;
  }

  message(type: protobuf.Type, json: unknown, path: string): Obj | undefined {
    const { fullName: name, fields } = typeInfo(type);
    if (name === '.google.protobuf.Any') return this.any(json, path);
    if (name === '.google.protobuf.Duration') return this.duration(json, path);
    if (wrappers.has(name)) return { value: this.scalar(type.fields.value!, json, path) }; // every wrapper type has one field, `value`
    if (name === '.google.protobuf.Struct')
      return isObj(json) ? { fields: this.structFields(json, path) } : this.problem(path, 'expected an object');
    if (name === '.google.protobuf.Value') return this.structValue(json, path);
    if (!isObj(json)) return this.problem(path, `expected an object for ${name.slice(1)}`);
    const out: Obj = {};
    const oneofsSet = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = fields.get(key);
      const at = `${path}.${key}`;
      if (!field) {
        this.problem(at, `unknown field of ${name.slice(1)}`);
        continue;
      }
      if (field.partOf && value !== null) {
        const other = oneofsSet.get(field.partOf.name);
        if (other) this.problem(at, `oneof ${field.partOf.name} already has ${other}`);
        oneofsSet.set(field.partOf.name, key);
      }
      out[field.name] = this.fieldValue(field, value, at);
    }
    return out;
  }

  fieldValue(field: protobuf.Field, value: unknown, path: string): unknown {
    field.resolve();
    if (field.map) {
      if (!isObj(value)) return this.problem(path, 'expected a map (object)');
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.single(field, v, `${path}.${k}`)]));
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.problem(path, 'expected a list');
      return value.map((v, i) => this.single(field, v, `${path}[${i}]`));
    }
    return this.single(field, value, path);
  }

  single(field: protobuf.Field, value: unknown, path: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) {
      if (typeof value === 'string' && value in resolved.values) return value;
      if (typeof value === 'number' && Object.values(resolved.values).includes(value)) return value;
      return this.problem(path, `${JSON.stringify(value)} is not a value of ${resolved.fullName.slice(1)}`);
    }
    return this.scalar(field, value, path);
  }

  scalar(field: protobuf.Field, value: unknown, path: string): unknown {
    switch (field.type) {
      case 'string':
        return typeof value === 'string' ? value : this.problem(path, 'expected a string');
      case 'bool':
        return typeof value === 'boolean' ? value : this.problem(path, 'expected a boolean');
      case 'bytes':
        return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
          ? value
          : this.problem(path, 'expected base64 bytes');
      case 'double':
      case 'float':
        return typeof value === 'number' ? value : this.problem(path, 'expected a number');
      default: {
        const unsigned = field.type.startsWith('u') || field.type.startsWith('fixed');
        const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
        if (!(unsigned ? /^\d+$/ : /^-?\d+$/).test(text))
          return this.problem(path, `expected an integer (${field.type})`);
        return field.type.endsWith('64') ? text : Number(text);
      }
    }
  }

  duration(json: unknown, path: string): Obj | undefined {
    const m = typeof json === 'string' ? /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
    if (!m) return this.problem(path, `expected a duration like "1.5s", found ${JSON.stringify(json)}`);
    const sign = m[1] === '-' ? -1 : 1;
    return { seconds: String(sign * Number(m[2])), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
  }

  any(json: unknown, path: string): Obj | undefined {
    if (!isObj(json) || typeof json['@type'] !== 'string') return this.problem(path, 'an Any needs "@type"');
    const url = json['@type'];
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    let type: protobuf.Type;
    try {
      type = this.root.lookupType(typeName);
    } catch {
      return this.problem(path, `@type ${url} does not resolve to a loaded message type`);
    }
    const { '@type': _url, ...rest } = json;
    const converted = this.message(type, rest, path);
    if (!converted) return undefined;
    return { type_url: url, value: type.encode(type.fromObject(converted)).finish() };
  }

  structFields(json: Obj, path: string): Obj {
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, this.structValue(v, `${path}.${k}`)]));
  }

  structValue(json: unknown, path: string): Obj {
    // protobufjs' bundled google.protobuf.Value has camelCase fields whatever keepCase says, and
    // fromObject drops a snake_case key without a word: ask the loaded type for its field names.
    const key = (name: string) =>
      typeInfo(this.root.lookupType('google.protobuf.Value')).fields.get(protobuf.util.camelCase(name))!.name;
    if (json === null) return { [key('null_value')]: 'NULL_VALUE' };
    if (typeof json === 'number') return { [key('number_value')]: json };
    if (typeof json === 'string') return { [key('string_value')]: json };
    if (typeof json === 'boolean') return { [key('bool_value')]: json };
    if (Array.isArray(json))
      return { [key('list_value')]: { values: json.map((v, i) => this.structValue(v, `${path}[${i}]`)) } };
    return { [key('struct_value')]: { fields: this.structFields(json as Obj, path) } };
  }
}

/**
 * Converts proto3 JSON (snake_case or lowerCamelCase) of `typeName` to its binary encoding, strictly.
 * Throws EnvoyProtoError listing every problem, or when the round trip does not reproduce the bytes.
 */
export function encodeEnvoyJson(typeName: string, json: unknown): Uint8Array {
  return encodeStrict(envoyRoot(), typeName, json);
}

/** encodeEnvoyJson against any loaded root (the runtime snapshot's protos, for one). */
export function encodeStrict(root: protobuf.Root, typeName: string, json: unknown): Uint8Array {
  const type = root.lookupType(typeName);
  const converter = new Converter(root);
  const converted = converter.message(type, json, typeName.slice(typeName.lastIndexOf('.') + 1));
  if (converter.problems.length > 0 || !converted) throw new EnvoyProtoError(typeName, converter.problems);
  const bytes = type.encode(type.fromObject(converted)).finish();
  const again = type.encode(type.decode(bytes)).finish();
  if (Buffer.compare(Buffer.from(bytes), Buffer.from(again)) !== 0)
    throw new EnvoyProtoError(typeName, ['encode/decode round trip changed the bytes']);
  return bytes;
}

/** Decodes bytes of `typeName` to a plain object (for tests and debugging). */
export function decodeEnvoy(typeName: string, bytes: Uint8Array): Obj {
  const type = envoyRoot().lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: false });
}
