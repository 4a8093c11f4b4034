// Decodes a runtime snapshot from its proto3 JSON form (what `gatehouse compile` writes under
// `.runtime`) into the generated __Output shape: defaults filled, longs and enums as strings, oneofs
// named by `kind`. Fields the schema does not know are errors, so a compiler/extproc version skew
// shows up as a rejected snapshot rather than as silently ignored configuration.
import protobuf from 'protobufjs';
import { GatehouseError } from '../../../lib/errors.ts';
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
  longs: String, enums: String, defaults: true, oneofs: true, arrays: true, objects: true,
};

export function decodeRuntimeSnapshot(json: unknown): RuntimeSnapshot__Output {
  const type = runtimeSnapshotType();
  checkKnownFields(type, json, 'runtime');
  try {
    return type.toObject(type.fromObject(json as Record<string, unknown>), TO_OBJECT) as RuntimeSnapshot__Output;
  } catch (err) {
    throw new SnapshotInvalidError(`runtime snapshot does not match gatehouse.v1.RuntimeSnapshot: ${(err as Error).message}`, { cause: err });
  }
}

/** For tests and fixtures: the input shape, typed. */
export type RuntimeSnapshotInput = RuntimeSnapshot;

function checkKnownFields(type: protobuf.Type, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SnapshotInvalidError(`${path}: expected an object`);
  }
  for (const [key, child] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.name === key || f.options?.json_name === key);
    if (!field) throw new SnapshotInvalidError(`${path}.${key}: unknown field of ${type.fullName.slice(1)}`);
    field.resolve();
    if (!(field.resolvedType instanceof protobuf.Type) || child === null || child === undefined) continue;
    const nested = field.resolvedType;
    if (field.map) {
      if (typeof child !== 'object') throw new SnapshotInvalidError(`${path}.${key}: expected a map`);
      for (const [k, v] of Object.entries(child)) checkKnownFields(nested, v, `${path}.${key}[${k}]`);
    } else if (field.repeated) {
      if (!Array.isArray(child)) throw new SnapshotInvalidError(`${path}.${key}: expected a list`);
      child.forEach((v, i) => checkKnownFields(nested, v, `${path}.${key}[${i}]`));
    } else {
      checkKnownFields(nested, child, `${path}.${key}`);
    }
  }
}
