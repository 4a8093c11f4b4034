// Decodes a runtime snapshot from its proto3 JSON form (what `gatehouse compile` writes under
// `.runtime`) into the generated __Output shape: defaults filled, longs and enums as strings, oneofs
// named by `kind`. Fields the schema does not know are errors, so a compiler/extproc version skew
// shows up as a rejected snapshot rather than as silently ignored configuration.
import protobuf from 'protobufjs';
import { GatehouseError } from '../../../lib/errors.ts';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { RuntimeSnapshot, RuntimeSnapshot__Output } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';

export class SnapshotInvalidError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_SNAPSHOT_INVALID', message, options);
  }
}

const PROTO = new URL('../../../protos/gatehouse/v1/runtime.proto', import.meta.url).pathname;
let snapshotType: protobuf.Type | undefined;

function runtimeSnapshotType(): protobuf.Type {
  snapshotType ??= protobuf.loadSync(PROTO).lookupType('gatehouse.v1.RuntimeSnapshot');
  return snapshotType;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  arrays: true,
  objects: true,
};

export function decodeRuntimeSnapshot(json: unknown): RuntimeSnapshot__Output {
  const type = runtimeSnapshotType();
  checkKnownFields(type, json, 'runtime');
  try {
    return type.toObject(type.fromObject(json as Record<string, unknown>), TO_OBJECT) as RuntimeSnapshot__Output;
  } catch (err) {
    throw new SnapshotInvalidError(
      `runtime snapshot does not match gatehouse.v1.RuntimeSnapshot: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * The binary form of a decoded snapshot (the __Output shape back to protobuf): the primary of
 * `--workers` sends this to its workers, which decode it as the xDS source does.
 */
export function encodeRuntimeSnapshot(snapshot: RuntimeSnapshot__Output): Uint8Array {
  const type = runtimeSnapshotType();
  return type.encode(type.fromObject(snapshot)).finish();
}

/** Decodes the binary form served over ADS (type.googleapis.com/gatehouse.v1.RuntimeSnapshot). */
export function decodeRuntimeSnapshotBytes(bytes: Uint8Array): RuntimeSnapshot__Output {
  return new RuntimeSnapshotDecoder().decode(bytes);
}

/**
 * Decodes successive snapshots of one subscription. A proxy whose bytes are the same as in the
 * previous snapshot is not decoded again: it is the very object decoded then, which loadSnapshot
 * takes as unchanged without looking further.
 */
export class RuntimeSnapshotDecoder {
  private proxiesByBytes = new Map<string, Proxy__Output>();

  decode(bytes: Uint8Array): RuntimeSnapshot__Output {
    const type = runtimeSnapshotType();
    try {
      // Protobuf's wire format is a sequence of fields: cut out each element of `proxies`, decode the rest whole.
      const proxiesField = type.fields.proxies;
      if (proxiesField === undefined)
        throw new SnapshotInvalidError('gatehouse.v1.RuntimeSnapshot has no field proxies');
      const proxyType = proxiesField.resolve().resolvedType as protobuf.Type;
      const reader = protobuf.Reader.create(bytes);
      const rest: Uint8Array[] = [];
      const proxies: Proxy__Output[] = [];
      const proxiesByBytes = new Map<string, Proxy__Output>();
      while (reader.pos < reader.len) {
        const start = reader.pos;
        const tag = reader.uint32();
        if (tag >>> 3 === proxiesField.id && (tag & 7) === 2) {
          const length = reader.uint32();
          const element = bytes.subarray(reader.pos, reader.pos + length);
          reader.skip(length);
          const key = Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('latin1');
          const proxy =
            proxiesByBytes.get(key) ??
            this.proxiesByBytes.get(key) ??
            (proxyType.toObject(proxyType.decode(element), TO_OBJECT) as Proxy__Output);
          proxiesByBytes.set(key, proxy);
          proxies.push(proxy);
        } else {
          reader.skipType(tag & 7);
          rest.push(bytes.subarray(start, reader.pos));
        }
      }
      const snapshot = type.toObject(type.decode(Buffer.concat(rest)), TO_OBJECT) as RuntimeSnapshot__Output;
      this.proxiesByBytes = proxiesByBytes;
      return { ...snapshot, proxies };
    } catch (err) {
      throw new SnapshotInvalidError(
        `runtime snapshot bytes do not decode as gatehouse.v1.RuntimeSnapshot: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** For tests and fixtures: the input shape, typed. */
export type RuntimeSnapshotInput = RuntimeSnapshot;

function checkKnownFields(type: protobuf.Type, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SnapshotInvalidError(`${path}: expected an object`);
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const field =
      type.fields[key] ?? Object.values(type.fields).find((f) => f.name === key || f.options?.json_name === key);
    if (!field) throw new SnapshotInvalidError(`${path}.${key}: unknown field of ${type.fullName.slice(1)}`);
    field.resolve();
    if (!(field.resolvedType instanceof protobuf.Type) || child === null || child === undefined) continue;
    const nested = field.resolvedType;
    if (field.map) {
      if (typeof child !== 'object') throw new SnapshotInvalidError(`${path}.${key}: expected a map`);
      for (const [k, v] of Object.entries(child as Record<string, unknown>))
        checkKnownFields(nested, v, `${path}.${key}[${k}]`);
    } else if (field.repeated) {
      if (!Array.isArray(child)) throw new SnapshotInvalidError(`${path}.${key}: expected a list`);
      child.forEach((v, i) => checkKnownFields(nested, v, `${path}.${key}[${i}]`));
    } else {
      checkKnownFields(nested, child, `${path}.${key}`);
    }
  }
}
