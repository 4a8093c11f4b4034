// Envoy's own API protos (from @grpc/grpc-js-xds, never copied here, docs/architecture.md#layout-and-dependency-rules), loaded with protobufjs
// to decode the Any resources and typed configs that arrive over xDS. Unknown type URLs are errors, as
// they are for Envoy.
import type protobuf from 'protobufjs';
import { envoyConfigProtoFiles, loadEnvoyRoot } from '../../../protos/envoy.ts';
import { ConfigRejectedError } from '../errors.ts';

let root: protobuf.Root | undefined;

export function envoyRoot(): protobuf.Root {
  root ??= loadEnvoyRoot(envoyConfigProtoFiles);
  return root;
}

/** A decoded message: snake_case fields, enums as names, 64-bit integers as strings, nested Any left packed. */
export type Decoded = Record<string, unknown>;

export interface PackedAny {
  type_url: string;
  value: Uint8Array;
}

export const typeName = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

/** Decodes an Any into its message, checking its type URL is the one expected (when given). */
export function unpackAny(any: PackedAny | undefined, expectedTypeUrl?: string): Decoded {
  if (!any?.type_url) throw new ConfigRejectedError('missing typed config');
  if (expectedTypeUrl !== undefined && any.type_url !== expectedTypeUrl) {
    throw new ConfigRejectedError(`expected ${expectedTypeUrl}, got ${any.type_url}`);
  }
  let type: protobuf.Type;
  try {
    type = envoyRoot().lookupType(typeName(any.type_url));
  } catch {
    throw new ConfigRejectedError(`unknown type ${any.type_url}`);
  }
  try {
    return type.toObject(type.decode(any.value), {
      longs: String,
      enums: String,
      bytes: Buffer,
      defaults: true,
      arrays: true,
      objects: true,
      oneofs: true,
    });
  } catch (err) {
    throw new ConfigRejectedError(`cannot decode ${any.type_url}: ${(err as Error).message}`);
  }
}

/** google.protobuf.Duration as decoded -> milliseconds (undefined when unset). */
export function durationMs(d: unknown): number | undefined {
  if (d === null || d === undefined) return undefined;
  const { seconds, nanos } = d as { seconds?: string | number; nanos?: number };
  return Number(seconds ?? 0) * 1000 + Math.round((nanos ?? 0) / 1e6);
}

/** google.protobuf.BoolValue as decoded. */
export function boolValue(v: unknown, fallback: boolean): boolean {
  return v === null || v === undefined ? fallback : Boolean((v as { value?: boolean }).value);
}

/** A decoded scalar (string, enum name, number or 64-bit string) as text; anything else is ''. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}
