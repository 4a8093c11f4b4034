// Templates are checked where policies are compiled: a template extproc could not parse never reaches
// a snapshot, and the error names the field (protos/policies/templates.ts).
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

describe('template validation at compile time', () => {
  it('reports an unknown function on the field that holds it', () => {
    const result = compilePolicy(`  type: AssignMessage
  assignMessage:
    set:
      payload: {contentType: application/json, content: '{"a": "{x(request.content)}"}'}
`);
    expect(result.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.assignMessage.set.payload.content: unknown template function "x"',
    ]);
    expect(result.accepted.find((s) => s.name === 'p')?.accepted).toBe(false);
  });

  it('reports malformed templates in RaiseFault headers and payloads', () => {
    const result = compilePolicy(`  type: RaiseFault
  raiseFault:
    statusCode: 400
    headers: {x-id: "{{messageid}}"}
    payload: {contentType: text/xml, content: '<a>{substring(request.path, 0, 4)}</a>'}
`);
    expect(result.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.raiseFault.headers.x-id: "{{" at offset 0 is neither a reference nor a literal brace',
      'spec.raiseFault.payload.content: unexpected a space at offset 27 in the call to substring (spaces are not allowed in function expressions)',
    ]);
  });

  it('accepts Apigee-shaped templates', () => {
    const result = compilePolicy(`  type: AssignMessage
  assignMessage:
    assignVariable:
      - {name: signature, template: "{hmacSha256(private.key,request.content,'utf-8','base16')}"}
    set:
      headers: {x-day: "{timeFormatUTCMs('yyyy-MM-dd',system.timestamp)}"}
      payload: {contentType: application/json, content: '{"id": "{escapeJSON(messageid)}", "who": "{firstnonnull(request.header.x-user,''anonymous'')}"}'}
`);
    expect(result.errors).toEqual([]);
  });
});
