import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { policyTypes, policyTypesByName } from './index.ts';
import { toCrdSchema, toValidationSchema, type JSONSchema } from './schema.ts';

/** Every way a node can break Kubernetes' structural-schema rules, as "path: problem". */
function structuralProblems(node: JSONSchema, path: string): string[] {
  const problems: string[] = [];
  const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (node.type === undefined && !open) problems.push(`${path}: no type`);
  if ('$ref' in node) problems.push(`${path}: $ref`);
  if (node.properties && node.additionalProperties !== undefined)
    problems.push(`${path}: properties with additionalProperties`);
  if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
  for (const [k, v] of Object.entries(node.properties ?? {})) problems.push(...structuralProblems(v, `${path}.${k}`));
  if (node.items) problems.push(...structuralProblems(node.items, `${path}[]`));
  if (typeof node.additionalProperties === 'object')
    problems.push(...structuralProblems(node.additionalProperties, `${path}{}`));
  return problems;
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = new Map(policyTypes.map((p) => [p.type, ajv.compile(toValidationSchema(p.schema))]));

function validate(type: string, config: unknown): boolean {
  const validator = validators.get(type);
  if (!validator) throw new Error(`no validator for ${type}`);
  return validator(config);
}

describe('policy type table', () => {
  it('names each member as lowerCamelCase of its type', () => {
    expect(Object.fromEntries(policyTypes.map((p) => [p.type, p.member]))).toEqual({
      Quota: 'quota',
      SpikeArrest: 'spikeArrest',
      ResetQuota: 'resetQuota',
      ResponseCache: 'responseCache',
      LookupCache: 'lookupCache',
      PopulateCache: 'populateCache',
      InvalidateCache: 'invalidateCache',
      JSONToXML: 'jsonToXML',
      XMLToJSON: 'xmlToJSON',
      RaiseFault: 'raiseFault',
      XSLTransform: 'xslTransform',
      SOAPMessageValidation: 'soapMessageValidation',
      AssignMessage: 'assignMessage',
      ExtractVariables: 'extractVariables',
      KeyValueMapOperations: 'keyValueMapOperations',
      VerifyAPIKey: 'verifyAPIKey',
      OAuthV2: 'oauthV2',
      GetOAuthV2Info: 'getOAuthV2Info',
      SetOAuthV2Info: 'setOAuthV2Info',
      DeleteOAuthV2Info: 'deleteOAuthV2Info',
      BasicAuthentication: 'basicAuthentication',
      AccessControl: 'accessControl',
      AccessEntity: 'accessEntity',
      JSONThreatProtection: 'jsonThreatProtection',
      XMLThreatProtection: 'xmlThreatProtection',
      RegularExpressionProtection: 'regularExpressionProtection',
      CORS: 'cors',
      ExternalCallout: 'externalCallout',
      VerifyJWT: 'verifyJWT',
      GenerateJWT: 'generateJWT',
      DecodeJWT: 'decodeJWT',
      VerifyJWS: 'verifyJWS',
      GenerateJWS: 'generateJWS',
      DecodeJWS: 'decodeJWS',
      ServiceCallout: 'serviceCallout',
      JavaScript: 'javaScript',
      Script: 'script',
      JavaCallout: 'javaCallout',
      FlowCallout: 'flowCallout',
      MessageLogging: 'messageLogging',
      StatisticsCollector: 'statisticsCollector',
    });
  });

  it.each(policyTypes.map((p) => [p.type, p] as const))('%s has a structural CRD schema', (_type, spec) => {
    const crd = toCrdSchema(spec.schema);
    expect(structuralProblems(crd, spec.member)).toEqual([]);
    expect(JSON.stringify(crd)).not.toContain('x-gatehouse-ref-or');
  });

  it('accepts the shapes of docs/policies.md', () => {
    expect(validate('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } })).toBe(true);
    // Schema-valid; the type's own check refuses it (a consumer key in clear).
    expect(validate('VerifyAPIKey', { apiKey: 'literal-key' })).toBe(true);
    expect(policyTypesByName.get('VerifyAPIKey')!.validate!({ apiKey: 'literal-key' })).toEqual([
      { path: 'apiKey', message: expect.stringContaining('a literal API key') as unknown },
    ]);
    expect(
      validate('Quota', {
        type: 'calendar',
        allow: 100,
        interval: 1,
        timeUnit: 'minute',
        identifier: { ref: 'client_id' },
        distributed: true,
        synchronous: true,
      }),
    ).toBe(true);
    expect(validate('SpikeArrest', { rate: '30pm', identifier: { ref: 'client.ip' }, useEffectiveCount: true })).toBe(
      true,
    );
    expect(
      validate('JSONThreatProtection', {
        containerDepth: 10,
        arrayElementCount: 100,
        objectEntryCount: 50,
        objectEntryNameLength: 64,
        stringValueLength: 1024,
      }),
    ).toBe(true);
    expect(
      validate('AccessControl', {
        noRuleMatchAction: 'Allow',
        rules: [{ action: 'Deny', sourceAddresses: ['203.0.113.0/24'] }],
      }),
    ).toBe(true);
    expect(
      validate('AssignMessage', {
        assignTo: 'response',
        set: { headers: { 'x-served-by': 'gatehouse', 'x-app': '{developer.app.name}' } },
        remove: { headers: ['x-internal'] },
      }),
    ).toBe(true);
    expect(
      validate('RaiseFault', {
        statusCode: 403,
        reasonPhrase: 'Forbidden',
        payload: { contentType: 'application/json', content: '{"error":"blocked"}' },
      }),
    ).toBe(true);
  });

  it('rejects unknown members, wrong types and bad refs when validating', () => {
    expect(validate('JSONThreatProtection', { containerDepth: 10, containerdepth: 3 })).toBe(false);
    expect(validate('AccessControl', { noRuleMatchAction: 'Maybe' })).toBe(false);
    expect(validate('VerifyAPIKey', { apiKey: { reference: 'x' } })).toBe(false);
    expect(validate('VerifyAPIKey', {})).toBe(false);
    expect(validate('CORS', { allowOrigins: [] })).toBe(false);
  });

  it('reports what the schema cannot say through validate', () => {
    const problems = (type: string, config: unknown) => policyTypesByName.get(type)?.validate?.(config) ?? [];
    expect(
      problems('AccessControl', {
        rules: [{ action: 'Deny', sourceAddresses: ['10.0.0.0/8', '10.0.0.0/33', '::1/128', '1.2.3'] }],
      }),
    ).toEqual([
      { path: 'rules[0].sourceAddresses[1]', message: expect.stringContaining('10.0.0.0/33') as unknown },
      { path: 'rules[0].sourceAddresses[3]', message: expect.stringContaining('1.2.3') as unknown },
    ]);
    expect(problems('RegularExpressionProtection', { uriPath: ['(a+)+$', '(?<=x)y'] })).toEqual([
      { path: 'uriPath[1]', message: expect.stringContaining('not valid RE2') as unknown },
    ]);
    expect(problems('AssignMessage', { set: {}, operations: [{ set: {}, add: {} }] }).map((p) => p.path)).toEqual([
      'operations',
      'operations[0]',
    ]);
    expect(
      problems('AssignMessage', { assignVariable: [{ name: 'a', value: 'x', ref: 'y' }] }).map((p) => p.path),
    ).toEqual(['assignVariable[0]']);
    expect(problems('ExtractVariables', { uriPath: ['/a/{id}', '/a/{id', '/{a}{b}'] }).map((p) => p.path)).toEqual([
      'uriPath[1]',
      'uriPath[2]',
    ]);
    expect(
      problems('BasicAuthentication', { operation: 'Decode', user: 'u', password: { ref: 'p' } }).map((p) => p.path),
    ).toEqual(['user']);
  });

  it('refuses configured header changes Envoy would not apply (the compiled mutation rules): x-envoy*, pseudo-headers, removing or adding Host', () => {
    const problems = (type: string, config: unknown) => policyTypesByName.get(type)?.validate?.(config) ?? [];
    expect(
      problems('AssignMessage', {
        set: { headers: { 'X-Envoy-Retry-On': '5xx', host: 'backend.internal', 'x-fine': '1' } },
        add: { headers: { host: 'b' } },
        remove: { headers: ['x-envoyfoo', 'Host', 'x-internal'] },
        copy: { headers: [':path', 'host'] },
        assignVariable: [
          { name: 'request.header.x-envoy-max-retries', value: '3' },
          { name: 'request.header.x-ok', value: '3' },
        ],
      }).map((p) => p.path),
    ).toEqual([
      'remove.headers[0]',
      'remove.headers[1]',
      'copy.headers[0]',
      'add.headers.host',
      'set.headers.X-Envoy-Retry-On',
      'assignVariable[0].name',
    ]);
    expect(problems('RaiseFault', { statusCode: 403, headers: { 'x-envoy-upstream-service-time': '1' } })).toEqual([
      {
        path: 'headers.x-envoy-upstream-service-time',
        message: 'x-envoy-upstream-service-time: x-envoy headers belong to Envoy; Envoy would not apply it',
      },
    ]);
  });

  it('asks for the body only when a step reads or writes it in its own phase', () => {
    const needs = (type: string, config: unknown, phase: 'request' | 'response') =>
      policyTypesByName.get(type)?.needsBody(config, phase);
    expect(needs('JSONThreatProtection', {}, 'request')).toBe(true);
    expect(needs('JSONThreatProtection', { source: 'request' }, 'response')).toBe(false);
    expect(needs('VerifyAPIKey', { apiKey: 'k' }, 'request')).toBe(false);
    expect(needs('AssignMessage', { set: { headers: { a: 'b' } } }, 'response')).toBe(false);
    expect(needs('AssignMessage', { set: { payload: { content: 'x' } } }, 'response')).toBe(true);
    expect(needs('AssignMessage', { operations: [{ remove: { payload: true } }] }, 'request')).toBe(true);
    expect(needs('ExtractVariables', { headers: [{ name: 'a', patterns: ['{a}'] }] }, 'request')).toBe(false);
    expect(needs('ExtractVariables', { jsonPayload: [{ name: 'a', jsonPath: '$.a' }] }, 'request')).toBe(true);
    expect(needs('RegularExpressionProtection', { uriPath: ['x'] }, 'request')).toBe(false);
    expect(needs('CORS', { allowOrigins: ['*'] }, 'response')).toBe(false);
  });
});

describe('needsBody for variables read from the body', () => {
  const needs = (type: string, config: unknown, phase: 'request' | 'response') =>
    policyTypesByName.get(type)?.needsBody(config, phase);

  it('asks for the body when a ref or template reads request.content, a form parameter or response.content', () => {
    expect(needs('VerifyAPIKey', { apiKey: { ref: 'request.formparam.apikey' } }, 'request')).toBe(true);
    expect(needs('VerifyAPIKey', { apiKey: { ref: 'request.formparam.apikey' } }, 'response')).toBe(false);
    expect(
      needs('RaiseFault', { statusCode: 400, payload: { content: 'you sent {request.content}' } }, 'request'),
    ).toBe(true);
    expect(needs('RaiseFault', { statusCode: 400, payload: { content: '{"error":"blocked"}' } }, 'request')).toBe(
      false,
    );
    expect(needs('AssignMessage', { set: { headers: { 'x-body': '{response.content}' } } }, 'response')).toBe(true);
    expect(needs('AssignMessage', { assignVariable: [{ name: 'a', ref: 'request.content' }] }, 'request')).toBe(true);
    expect(needs('AssignMessage', { assignTo: 'response', copy: { payload: true } }, 'response')).toBe(false);
    expect(needs('AssignMessage', { copy: { source: 'request', payload: true } }, 'request')).toBe(true);
    expect(
      needs(
        'BasicAuthentication',
        { operation: 'Decode', user: { ref: 'u' }, password: { ref: 'p' }, source: 'request.formparam.auth' },
        'request',
      ),
    ).toBe(true);
    expect(needs('ExtractVariables', { variables: [{ name: 'request.content', patterns: ['{x}'] }] }, 'request')).toBe(
      true,
    );
    expect(
      needs('RegularExpressionProtection', { variables: [{ name: 'response.content', patterns: ['x'] }] }, 'response'),
    ).toBe(true);
  });
});
