// The two forms of a policy schema agree: what the ApiPolicy CRD makes the apiserver refuse is what
// the compiler refuses in folder mode. Ref-or nodes are checked both ways on a table of values, and
// every CEL rule of a policy schema has its twin in the type's `validate`.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { policyTypes, policyTypesByName } from './index.ts';
import { toCrdSchema, toValidationSchema, type JSONSchema } from './schema.ts';

interface Found {
  type: string;
  path: string;
  node: JSONSchema;
}

/** Every node of a schema with its path ([] for items, {} for map values), ref-or nodes not entered. */
function nodes(type: string, schema: JSONSchema, path = ''): Found[] {
  const here: Found = { type, path, node: schema };
  if (schema['x-gatehouse-ref-or'] !== undefined) return [here];
  return [
    here,
    ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => nodes(type, v, `${path}.${k}`)),
    ...(schema.items ? nodes(type, schema.items, `${path}[]`) : []),
    ...(typeof schema.additionalProperties === 'object' ? nodes(type, schema.additionalProperties, `${path}{}`) : []),
  ];
}

const all = policyTypes.flatMap((p) => nodes(p.type, p.schema));
const refOrNodes = all.filter((f) => f.node['x-gatehouse-ref-or'] !== undefined);

// Values of every JSON type around the bounds the literals use. No null: the apiserver prunes a null
// member of a non-nullable field before it validates anything.
const samples: unknown[] = [
  '',
  'a',
  '30pm',
  '10ps',
  '999999999pm',
  '1000000000pm',
  '0pm',
  '30ph',
  'thirty per minute',
  'minute',
  'fortnight',
  'true',
  '5',
  'x'.repeat(1024),
  'x'.repeat(1025),
  0,
  1,
  -1,
  1.5,
  100,
  1_000_000,
  1_000_001,
  1_000_000_000,
  1_000_000_001,
  31_536_000,
  31_536_001,
  true,
  false,
  [],
  ['a'],
  [{ ref: 'a' }],
  {},
  { ref: 'client_id' },
  { ref: '' },
  { ref: 'x'.repeat(256) },
  { ref: 'x'.repeat(257) },
  { ref: 5 },
  { ref: { ref: 'a' } },
  { ref: 'a', default: 1 },
  { reference: 'a' },
  // {secretRef} (refOrSecret nodes take it; the others refuse it).
  { secretRef: { name: 'upstream', key: 'password' } },
  { secretRef: { name: 'Upstream', key: 'password' } },
  { secretRef: { name: 'upstream', key: 'pass word' } },
  { secretRef: { name: 'upstream' } },
  { secretRef: { name: 'upstream', key: 'password', extra: 1 } },
  { secretRef: 'upstream' },
  { secretRef: { name: 'upstream', key: 'password' }, ref: 'a' },
];

/** The CRD form as a JSON Schema validator sees it (the apiserver's x-kubernetes keywords ignored). */
const crdAjv = new Ajv({ strict: false, allErrors: true });
const compilerAjv = new Ajv({ strict: true, allErrors: true });

describe('ref-or nodes', () => {
  it('exist (the table below is not vacuous)', () => {
    expect(refOrNodes.length).toBeGreaterThan(15);
  });

  it.each(refOrNodes.map((f) => [`${f.type}${f.path}`, f] as const))(
    '%s: the CRD and the compiler accept the same values',
    (_name, { node }) => {
      const crd = crdAjv.compile(toCrdSchema(node));
      const compiler = compilerAjv.compile(toValidationSchema(node));
      const verdicts = samples.map((v) => ({ value: v, crd: crd(v), compiler: compiler(v) }));
      expect(verdicts.filter((v) => v.crd !== v.compiler)).toEqual([]);
      expect(verdicts.some((v) => v.crd)).toBe(true);
      expect(verdicts.some((v) => !v.crd)).toBe(true);
    },
  );

  it('the CRD form is untyped, open and described, with no compiler-only key', () => {
    for (const { node } of refOrNodes) {
      const crd = toCrdSchema(node);
      expect(crd.type).toBeUndefined();
      expect(crd['x-kubernetes-preserve-unknown-fields']).toBe(true);
      expect(crd.description).toMatch(/\S/);
      expect(JSON.stringify(crd)).not.toContain('x-gatehouse');
    }
  });

  it('refuses what issue 14 names: a rate in words, a ref with a second member', () => {
    const rate = toCrdSchema(policyTypesByName.get('SpikeArrest')!.schema.properties!.rate!);
    const check = crdAjv.compile(rate);
    expect(check('thirty per minute')).toBe(false);
    expect(check({ ref: 'a', fallback: '1ps' })).toBe(false);
    expect(check('30pm')).toBe(true);
    expect(check({ ref: 'ratelimit.rate' })).toBe(true);
  });
});

/**
 * Each CEL rule of a policy schema (the apiserver's check) with a config that breaks it and the path
 * where the type's `validate` (the compiler's and extproc's check) reports the same problem.
 */
type Twin = { type: string; config: unknown; path: string };
const celTwins: Record<string, Twin> = {
  'startTime applies to calendar quotas only': {
    type: 'Quota',
    config: { type: 'rollingwindow', allow: 1, startTime: '2026-01-01T00:00:00Z' },
    path: 'startTime',
  },
  'exactly one of value, ref or template': {
    type: 'AssignMessage',
    config: { assignVariable: [{ name: 'a', value: 'x', ref: 'y' }] },
    path: 'assignVariable[0]',
  },
  'exactly one of remove, copy, add, set, assignVariable per operation': {
    type: 'AssignMessage',
    config: { operations: [{ set: {}, add: {} }] },
    path: 'operations[0]',
  },
  'operations is exclusive with remove, copy, add, set, assignVariable': {
    type: 'AssignMessage',
    config: { set: {}, operations: [{ add: {} }] },
    path: 'operations',
  },
  'each assignVariable needs exactly one of value, ref or template': {
    type: 'RaiseFault',
    config: { statusCode: 400, assignVariable: [{ name: 'a', value: 'x', ref: 'y' }] },
    path: 'assignVariable[0]',
  },
  'variablePrefix and variableSuffix go together': {
    type: 'AssignMessage',
    config: { set: { payload: { content: 'x', variablePrefix: '@' } } },
    path: 'set.payload',
  },
  'each parameter needs exactly one of value or ref': {
    type: 'FlowCallout',
    config: { sharedFlowBundle: 'f', parameters: [{ name: 'a', value: 'x', ref: 'y' }] },
    path: 'parameters[0]',
  },
  'exactly one of syslog, http and stdout': {
    type: 'MessageLogging',
    config: { stdout: { message: 'x' }, http: { message: 'x', url: 'http://logs.example.com/' } },
    path: '',
  },
  'exactly one of url and service': {
    type: 'ServiceCallout',
    config: { httpTargetConnection: {} },
    path: 'httpTargetConnection',
  },
  'exactly one of stylesheet or configMapRef': {
    type: 'XSLTransform',
    config: { stylesheet: '<x/>', configMapRef: { name: 'xsl', key: 'a.xsl' } },
    path: 'configMapRef',
  },
  'at most one of schema or configMapRef': {
    type: 'SOAPMessageValidation',
    config: { resourceURL: 'xsd://a.xsd', schema: '<x/>', configMapRef: { name: 'xsd', key: 'a.xsd' } },
    path: 'configMapRef',
  },
  'exactly one of source or configMapRef': {
    type: 'JavaScript',
    config: { includes: [{ url: 'jsc://a.js', source: 'var a;', configMapRef: { name: 'js', key: 'a.js' } }] },
    path: 'source',
  },
  'at least one of put, get or delete is required': {
    type: 'KeyValueMapOperations',
    config: { mapIdentifier: 'm' },
    path: '',
  },
};

/** ServiceCallout's request runs AssignMessage's operations: the same rules, under request. */
const calloutTwins: Twin[] = Object.values(celTwins)
  .filter((t) => t.type === 'AssignMessage')
  .map((t) => ({
    type: 'ServiceCallout',
    config: { request: t.config, httpTargetConnection: { url: 'https://example.com' } },
    path: `request.${t.path}`,
  }));

/** Script's scripts take a ConfigMap as JavaScript's do: the same rule. */
const configMapTwins: Twin[] = [{ type: 'Script', config: { resourceURL: 'py://a.py' }, path: 'source' }];

describe('CEL rules of policy schemas', () => {
  const rules = all.flatMap((f) => (f.node['x-kubernetes-validations'] ?? []).map((r) => ({ ...f, rule: r })));

  it('each has a twin in its type’s validate', () => {
    expect([...new Set(rules.map((r) => r.rule.message))].sort()).toEqual(Object.keys(celTwins).sort());
    for (const { type, rule } of rules) {
      const twin = [celTwins[rule.message!]!, ...calloutTwins, ...configMapTwins].find(
        (t) => t.type === type && (t.type !== 'ServiceCallout' || t.path.endsWith(celTwins[rule.message!]!.path)),
      )!;
      expect(twin?.type).toBe(type);
      const problems = policyTypesByName.get(type)!.validate!(twin.config);
      expect(problems.map((p) => p.path)).toContain(twin.path);
    }
  });
});
