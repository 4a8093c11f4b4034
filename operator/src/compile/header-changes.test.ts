// Header changes Envoy would not apply under the compiled ext_proc mutation rules (x-envoy*, pseudo-
// headers, removing or adding Host) are refused where policies are compiled, on the field that names
// them (protos/policies/header-changes.ts), rather than dropped by Envoy at run time.
import { describe, expect, it } from 'vitest';
import { kinds } from '../api/kinds.ts';
import { parseManifests } from '../source/folder.ts';
import { compile } from './compile.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;

function compilePolicy(spec: string) {
  const yaml = `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: p, namespace: t}
spec:
${spec}`;
  const { objects, diagnostics } = parseManifests(yaml, 't.yaml');
  expect(diagnostics).toEqual([]);
  return compile(objects, { credentialHashKey: 'k' });
}

describe('header changes at compile time', () => {
  it('refuses an AssignMessage that sets x-envoy-*, removes Host or assigns a pseudo-header, naming each field', () => {
    const result = compilePolicy(`  type: AssignMessage
  assignMessage:
    set: {headers: {x-envoy-retry-on: 5xx, host: backend.internal}}
    remove: {headers: [host]}
    assignVariable: [{name: "request.header.:path", value: /x}]
`);
    expect(result.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.assignMessage.remove.headers[0]: host: Host cannot be removed; Envoy would not apply it',
      'spec.assignMessage.set.headers.x-envoy-retry-on: x-envoy-retry-on: x-envoy headers belong to Envoy; Envoy would not apply it',
      'spec.assignMessage.assignVariable[0].name: :path: a pseudo-header changes only through the verb, path or status code; Envoy would not apply it',
    ]);
    expect(result.accepted.find((s) => s.name === 'p')?.accepted).toBe(false);
  });

  it('accepts setting Host (allow_all_routing) and ordinary headers', () => {
    const result = compilePolicy(`  type: AssignMessage
  assignMessage:
    set: {headers: {host: backend.internal, x-tenant: a}, verb: PUT}
`);
    expect(result.errors).toEqual([]);
  });
});
