// Dynamic metadata from ext_proc replies, as Envoy's Filter::setDynamicMetadata
// (source/extensions/filters/http/ext_proc/ext_proc.cc) writes it into the stream info: only the
// namespaces listed in metadata_options.receiving_namespaces.untyped (none configured: nothing, and
// every other namespace is dropped), each namespace's struct merged into what earlier replies set
// (StreamInfo::setDynamicMetadata: Struct MergeFrom, a key set again replaced). The access log reads it
// (%DYNAMIC_METADATA(ns:key)%).
import type { Struct__Output } from '../../../protos/gen/envoy/google/protobuf/Struct.ts';
import type { Value__Output } from '../../../protos/gen/envoy/google/protobuf/Value.ts';

/** The stream's dynamic metadata: namespace -> its struct, as plain JSON values. */
export type DynamicMetadata = Map<string, Record<string, unknown>>;

function plain(v: Value__Output | undefined): unknown {
  switch (v?.kind) {
    case 'stringValue':
      return v.stringValue;
    case 'numberValue':
      return v.numberValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return plainStruct(v.structValue);
    case 'listValue':
      return (v.listValue?.values ?? []).map(plain);
    default:
      return null;
  }
}

function plainStruct(s: Struct__Output | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = plain(v);
  return out;
}

/**
 * Filter::setDynamicMetadata: each top-level key of the reply's dynamic_metadata is a namespace;
 * one listed in `receiving` has its struct (a non-struct value counts as an empty struct, as
 * `struct_value()` of another kind is) merged in; the rest are dropped.
 */
export function receiveDynamicMetadata(
  receiving: readonly string[],
  reply: Struct__Output | null | undefined,
  into: DynamicMetadata,
): void {
  if (receiving.length === 0 || !reply) return;
  for (const [namespace, value] of Object.entries(reply.fields ?? {})) {
    if (!receiving.includes(namespace)) continue;
    const struct = value?.kind === 'structValue' ? plainStruct(value.structValue) : {};
    into.set(namespace, { ...into.get(namespace), ...struct });
  }
}
