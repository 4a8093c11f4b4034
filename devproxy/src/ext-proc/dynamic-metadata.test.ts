// Filter::setDynamicMetadata (ext_proc.cc): a reply's dynamic_metadata reaches the stream info only
// for the receiving namespaces, merged key by key into what earlier replies set.
import { describe, expect, it } from 'vitest';
import type { Struct__Output } from '../../../protos/gen/envoy/google/protobuf/Struct.ts';
import { receiveDynamicMetadata, type DynamicMetadata } from './dynamic-metadata.ts';

const s = (fields: Record<string, string>): Struct__Output => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { kind: 'stringValue', stringValue: v }])),
});
const reply = (namespaces: Record<string, Record<string, string>>): Struct__Output => ({
  fields: Object.fromEntries(
    Object.entries(namespaces).map(([ns, f]) => [ns, { kind: 'structValue', structValue: s(f) }]),
  ),
});

describe('Filter::setDynamicMetadata', () => {
  it('drops namespaces not configured for receiving, and everything when none are', () => {
    const into: DynamicMetadata = new Map();
    receiveDynamicMetadata([], reply({ gatehouse: { proxy: 'a/b' } }), into);
    expect(into.size).toBe(0);
    receiveDynamicMetadata(['gatehouse'], reply({ gatehouse: { proxy: 'a/b' }, envoy_lb: { canary: 'x' } }), into);
    expect([...into.entries()]).toEqual([['gatehouse', { proxy: 'a/b' }]]);
  });

  it('merges later replies into the namespace: a key set again is replaced, the others kept', () => {
    const into: DynamicMetadata = new Map();
    receiveDynamicMetadata(['gatehouse'], reply({ gatehouse: { proxy: 'a/b', app: 'one' } }), into);
    receiveDynamicMetadata(['gatehouse'], reply({ gatehouse: { app: 'two', fault_code: 'x.Y' } }), into);
    expect(into.get('gatehouse')).toEqual({ proxy: 'a/b', app: 'two', fault_code: 'x.Y' });
  });
});
