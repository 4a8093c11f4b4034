// XMLToJSON: the examples of Apigee's XMLToJSON policy reference (each test names the option section
// it comes from), its faults, and hostile documents.
import { describe, expect, it } from 'vitest';
import { xmlToJSON, type XMLToJSONConfig } from '../../../../protos/policies/mediation/xml-to-json.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { xmlToJson, xmlToJsonPolicy, xmlToJsonTask } from './xml-to-json.ts';

const convert = (xml: string, options: Parameters<typeof xmlToJson>[1] = {}): unknown =>
  JSON.parse(xmlToJson(xml, options));

describe('XMLToJSON: Apigee reference examples', () => {
  it('no options: elements become members (reference, "Element reference" sample)', () => {
    expect(convert('<a><b1>value1</b1><b2>value2</b2><b3>value3</b3><b4>value4</b4></a>')).toEqual({
      a: { b1: 'value1', b2: 'value2', b3: 'value3', b4: 'value4' },
    });
  });

  it('<RecognizeNumber>, <RecognizeBoolean>, <RecognizeNull> (reference, Options)', () => {
    expect(convert('<a><b>100</b><c>value</c></a>', { recognizeNumber: true })).toEqual({ a: { b: 100, c: 'value' } });
    expect(convert('<a><b>100</b><c>value</c></a>')).toEqual({ a: { b: '100', c: 'value' } });
    expect(convert('<a><b>true</b><c>value</c></a>', { recognizeBoolean: true })).toEqual({
      a: { b: true, c: 'value' },
    });
    expect(convert('<a><b></b><c>value</c></a>', { recognizeNull: true })).toEqual({ a: { b: null, c: 'value' } });
    expect(convert('<a><b></b><c>value</c></a>')).toEqual({ a: { b: {}, c: 'value' } });
  });

  it('<NullValue> stands for an empty element when RecognizeNull is on (reference, <NullValue>)', () => {
    expect(convert('<a><b></b><c>value</c></a>', { recognizeNull: true, nullValue: 'NULL' })).toEqual({
      a: { b: 'NULL', c: 'value' },
    });
  });

  it('namespaces: <NamespaceBlockName>, <DefaultNamespaceNodeName>, <NamespaceSeparator> (reference, namespace elements)', () => {
    const xml = '<a xmlns="http://ns.com" xmlns:ns1="http://ns1.com"><ns1:b>value</ns1:b></a>';
    expect(
      convert(xml, { namespaceBlockName: '#namespaces', defaultNamespaceNodeName: '&', namespaceSeparator: '***' }),
    ).toEqual({ a: { '#namespaces': { '&': 'http://ns.com', ns1: 'http://ns1.com' }, 'ns1***b': 'value' } });
    expect(convert(xml, { defaultNamespaceNodeName: '&', namespaceSeparator: '***' })).toEqual({
      a: { 'ns1***b': 'value' },
    });
    expect(convert(xml)).toEqual({ a: { b: 'value' } });
  });

  it('<TextAlwaysAsProperty> and <TextNodeName> (reference, text elements)', () => {
    const xml = '<a><b>value1</b><c>value2<d>value3</d>value4</c></a>';
    expect(xmlToJson(xml, { textAlwaysAsProperty: true, textNodeName: 'TEXT' })).toBe(
      '{"a":{"b":{"TEXT":"value1"},"c":{"TEXT":["value2","value4"],"d":{"TEXT":"value3"}}}}',
    );
    expect(xmlToJson(xml, { textAlwaysAsProperty: false, textNodeName: 'TEXT' })).toBe(
      '{"a":{"b":"value1","c":{"TEXT":["value2","value4"],"d":"value3"}}}',
    );
  });

  it('<AttributeBlockName> and <AttributePrefix> (reference, attribute elements)', () => {
    const xml = '<a><b attrib1="value1" attrib2="value2"/></a>';
    expect(convert(xml, { attributeBlockName: 'FOO_BLOCK' })).toEqual({
      a: { b: { FOO_BLOCK: { attrib1: 'value1', attrib2: 'value2' } } },
    });
    expect(convert(xml, { attributePrefix: '@' })).toEqual({
      a: { b: { '@attrib1': 'value1', '@attrib2': 'value2' } },
    });
    expect(convert(xml, { attributeBlockName: 'FOO_BLOCK', attributePrefix: '@' })).toEqual({
      a: { b: { FOO_BLOCK: { '@attrib1': 'value1', '@attrib2': 'value2' } } },
    });
    expect(convert(xml)).toEqual({ a: { b: { attrib1: 'value1', attrib2: 'value2' } } });
  });

  it('<OutputPrefix> and <OutputSuffix> wrap the JSON text (reference, output elements)', () => {
    expect(xmlToJson('<a>value</a>', { outputPrefix: 'PRE_', outputSuffix: '_SUF' })).toBe('PRE_{"a":"value"}_SUF');
  });

  it('<TreatAsArray> with and without unwrap (reference, <TreatAsArray>/<Path>)', () => {
    expect(convert('<a><b><c>value1</c></b></a>', { treatAsArray: [{ path: 'a/b/c' }] })).toEqual({
      a: { b: { c: ['value1'] } },
    });
    expect(
      convert('<a><b><c>value1</c><c>value2</c></b></a>', { treatAsArray: [{ path: 'a/b/c', unwrap: true }] }),
    ).toEqual({ a: { b: ['value1', 'value2'] } });
    expect(convert('<a><b><c>value1</c><c>value2</c></b></a>')).toEqual({ a: { b: { c: ['value1', 'value2'] } } });
  });

  it('<StripLevels> removes single-member outer levels', () => {
    const xml =
      '<Response><ResponseData><Cities><City>Cupertino</City><City>Seattle</City></Cities></ResponseData></Response>';
    expect(convert(xml, { stripLevels: 3 })).toEqual({ City: ['Cupertino', 'Seattle'] });
    // A level with more than one member stays: stripping it would drop its siblings.
    expect(convert('<R><Status>ok</Status><Data><x>1</x></Data></R>', { stripLevels: 2 })).toEqual({
      Status: 'ok',
      Data: { x: '1' },
    });
  });

  it('<Format> presets (reference, <Format>): google, yahoo, xml.com, badgerFish; options override them', async () => {
    const xml = '<a xmlns:p="urn:p" id="7"><p:b>1</p:b>text</a>';
    const run = (format: XMLToJSONConfig['format'], options = {}) =>
      runStep({ format, options }, { body: xml, contentType: 'application/xml' });
    expect((await run('google')).json).toEqual({ a: { id: '7', p$b: { $t: '1' }, $t: 'text' } });
    expect((await run('yahoo')).json).toEqual({ a: { id: 7, b: 1, content: 'text' } });
    expect((await run('xml.com')).json).toEqual({ a: { '@id': '7', b: '1', '#text': 'text' } });
    expect((await run('badgerFish')).json).toEqual({
      a: { '@xmlns': { p: 'urn:p' }, '@id': '7', 'p:b': { $: '1' }, $: 'text' },
    });
    expect((await run('yahoo', { recognizeNumber: false })).json).toEqual({ a: { id: '7', b: '1', content: 'text' } });
  });
});

async function runStep(config: XMLToJSONConfig, opts: PolicyContextOptions, name = 'x2j') {
  const step = xmlToJsonPolicy.create(config, { namespace: 'shop', name });
  const ctx = makePolicyContext({ method: 'POST', ...opts });
  try {
    await step(ctx);
  } catch (error) {
    if (!(error instanceof PolicyFault)) throw error;
    return { fault: error, ctx, json: undefined };
  }
  const target = ctx.response ?? ctx.request;
  const text = target.body.text();
  return { fault: undefined, ctx, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('XMLToJSON step: source, output, faults', () => {
  it('converts the request body in place and sets Content-Type application/json', async () => {
    const { ctx, json } = await runStep({}, { body: '<order><id>1</id></order>', contentType: 'text/xml' });
    expect(json).toEqual({ order: { id: '1' } });
    expect(ctx.request.headers.get('content-type')).toBe('application/json');
  });

  it('leaves a body that is not XML alone', async () => {
    const { ctx, fault } = await runStep({}, { body: '{"a":1}', contentType: 'application/json' });
    expect(fault).toBeUndefined();
    expect(ctx.request.body.text()).toBe('{"a":1}');
  });

  it('writes a flow variable, leaving the message as it was', async () => {
    const step = xmlToJsonPolicy.create({ outputVariable: 'converted' }, { namespace: 's', name: 'x2j' });
    const ctx = makePolicyContext({ method: 'POST', body: '<a>1</a>', contentType: 'application/xml' });
    await step(ctx);
    expect(ctx.variables.get('converted')).toBe('{"a":"1"}');
    expect([ctx.request.body.text(), ctx.request.body.changed]).toEqual(['<a>1</a>', false]);
  });

  it('converts a string variable into another variable', async () => {
    const step = xmlToJsonPolicy.create({ source: 'soap.body', outputVariable: 'out' }, { namespace: 's', name: 'v' });
    const ctx = makePolicyContext({});
    ctx.variables.set('soap.body', '<r><ok>true</ok></r>');
    await step(ctx);
    expect(ctx.variables.get('out')).toBe('{"r":{"ok":"true"}}');
  });

  it.each([
    [
      'a response source in the request flow',
      { source: 'response' },
      {},
      'SourceUnavailable',
      'XMLToJSON[x2j]: Source response is not available',
    ],
    [
      'an unset source variable',
      { source: 'nothing', outputVariable: 'o' },
      {},
      'SourceUnavailable',
      'XMLToJSON[x2j]: Source nothing is not available',
    ],
    [
      'a string source without outputVariable',
      { source: 'v.text' },
      { v: '<a/>' },
      'OutputVariableIsNotAvailable',
      'XMLToJSON[x2j]: Output variable is not available.',
    ],
    [
      'a string source into a message',
      { source: 'v.text', outputVariable: 'request' },
      { v: '<a/>' },
      'InCompatibleTypes',
      'XMLToJSON[x2j]: String can not be assigned to message of type: request',
    ],
    [
      'a source that is no text',
      { source: 'v.text', outputVariable: 'o' },
      { v: 42 },
      'InvalidSourceType',
      'XMLToJSON[x2j]: Invalid source type number. Valid source types are [message, string].',
    ],
  ] as const)('%s: steps.xmltojson.%s, 500', async (_what, config, vars, name, faultString) => {
    const step = xmlToJsonPolicy.create(config, { namespace: 'shop', name: 'x2j' });
    const ctx = makePolicyContext({ body: '<a/>', contentType: 'application/xml' });
    if ('v' in vars) ctx.variables.set('v.text', vars.v);
    const thrown = await Promise.resolve()
      .then(() => step(ctx))
      .catch((e: unknown) => e);
    expect(thrown).toMatchObject({ status: 500, errorCode: `steps.xmltojson.${name}`, message: faultString });
  });

  it('malformed or empty XML is ExecutionFailed (500)', async () => {
    const bad = await runStep({}, { body: '<a><b></a>', contentType: 'application/xml' });
    expect(bad.fault).toMatchObject({ status: 500, errorCode: 'steps.xmltojson.ExecutionFailed' });
    expect(bad.fault?.message).toMatch(/^XMLToJSON\[x2j\]: Execution failed due to reason: Malformed XML/);
    const empty = await runStep({}, { body: '', contentType: 'application/xml' });
    expect(empty.fault).toMatchObject({ status: 500, errorCode: 'steps.xmltojson.ExecutionFailed' });
  });
});

describe('XMLToJSON attacks', () => {
  it('entity expansion (billion laughs) and external entities are refused before anything is expanded', () => {
    const laughs = `<!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`;
    const xxe = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    for (const body of [laughs, xxe]) {
      const result = xmlToJsonTask({ body: Buffer.from(body), options: {} });
      expect(result).toEqual({ error: 'DOCTYPE and entity declarations are not allowed' });
    }
  });

  it('a document deeper than 256 levels is refused by the scan, before a node is built', () => {
    const deep = `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`;
    const result = xmlToJsonTask({ body: Buffer.from(deep), options: {} });
    expect('error' in result && result.error).toMatch(/node depth/);
    const fine = `${'<a>'.repeat(256)}${'</a>'.repeat(256)}`;
    expect('output' in xmlToJsonTask({ body: Buffer.from(fine), options: {} })).toBe(true);
  });

  it('elements named __proto__, constructor and prototype are plain members: nothing is polluted', () => {
    const out = convert('<__proto__><constructor><prototype polluted="yes">1</prototype></constructor></__proto__>');
    expect(Object.keys(out as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(xmlToJson('<a><__proto__ x="1"/></a>', {})).toBe('{"a":{"__proto__":{"x":"1"}}}');
  });

  it('a wide document (20,000 siblings) converts in linear time and within the output bound', () => {
    const wide = `<a>${'<b>1</b>'.repeat(20_000)}</a>`;
    const result = xmlToJsonTask({ body: Buffer.from(wide), options: {} });
    const parsed = 'output' in result ? (JSON.parse(result.output) as { a: { b: unknown[] } }) : undefined;
    expect(parsed?.a.b).toHaveLength(20_000);
  });

  it('a configuration that would blow a small document up is bounded', () => {
    // Each 4-byte element gains a 64-character member name: past 8x the input the conversion stops.
    const body = Buffer.from(`<a>${'<b/>'.repeat(50_000)}</a>`);
    const result = xmlToJsonTask({
      body,
      options: { recognizeNull: true, nullValue: 'n'.repeat(64), textAlwaysAsProperty: true },
    });
    expect('output' in result || /exceed/.test(result.error)).toBe(true);
    const blown = xmlToJsonTask({
      body: Buffer.from(`<a>${'<b/>'.repeat(50_000)}</a>`),
      options: { recognizeNull: true, nullValue: 'n'.repeat(64) },
    });
    expect(blown).toEqual({ error: `the JSON would exceed ${8 * body.length + 65_536} characters` });
  });
});

describe('XMLToJSON body needs', () => {
  it('buffers the body for its source message in its phase, and for a body variable source', () => {
    expect(xmlToJSON.needsBody({}, 'request')).toBe(true);
    expect(xmlToJSON.needsBody({ source: 'response' }, 'request')).toBe(false);
    expect(xmlToJSON.needsBody({ source: 'response' }, 'response')).toBe(true);
    expect(xmlToJSON.needsBody({ source: 'request.content', outputVariable: 'x' }, 'request')).toBe(true);
    expect(xmlToJSON.needsBody({ source: 'my.var', outputVariable: 'x' }, 'request')).toBe(false);
  });
});
