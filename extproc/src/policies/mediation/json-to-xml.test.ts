// JSONToXML: the examples of Apigee's JSONToXML policy reference (each test names the option section it
// comes from), its faults, and hostile documents.
import { describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { parseXmlDocument } from '../xml.ts';
import { jsonToXml, jsonToXmlPolicy, jsonToXmlTask } from './json-to-xml.ts';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const convert = (json: string, options: Parameters<typeof jsonToXml>[1] = {}) =>
  jsonToXml(json, options).slice(DECL.length);

describe('JSONToXML: Apigee reference examples', () => {
  it('no options: members become elements (reference, "Element reference" sample)', () => {
    expect(jsonToXml('{"a":{"b1":"value1","b2":"value2","b3":"value3","b4":"value4"}}', {})).toBe(
      `${DECL}<a><b1>value1</b1><b2>value2</b2><b3>value3</b3><b4>value4</b4></a>`,
    );
  });

  it('namespaces: <NamespaceBlockName>, <DefaultNamespaceNodeName>, <NamespaceSeparator> (reference, namespace elements)', () => {
    const json =
      '{"population":{"#namespaces":{"$default":"http://www.w3.org/1999/people","exp":"http://www.w3.org/1999/explorers"},"person":"John Smith","exp***person":"Pedro Cabral"}}';
    expect(
      convert(json, {
        namespaceBlockName: '#namespaces',
        defaultNamespaceNodeName: '$default',
        namespaceSeparator: '***',
      }),
    ).toBe(
      '<population xmlns="http://www.w3.org/1999/people" xmlns:exp="http://www.w3.org/1999/explorers"><person>John Smith</person><exp:person>Pedro Cabral</exp:person></population>',
    );
  });

  it('<AttributeBlockName> and <AttributePrefix> (reference, attribute elements)', () => {
    expect(
      convert('{"person":{"#attrs":{"firstName":"John","lastName":"Smith"},"occupation":"explorer"}}', {
        attributeBlockName: '#attrs',
      }),
    ).toBe('<person firstName="John" lastName="Smith"><occupation>explorer</occupation></person>');
    expect(
      convert('{"person":{"@firstName":"John","@lastName":"Smith","occupation":"explorer"}}', { attributePrefix: '@' }),
    ).toBe('<person firstName="John" lastName="Smith"><occupation>explorer</occupation></person>');
  });

  it('<ObjectRootElementName>, <ArrayRootElementName>, <ArrayItemElementName> (reference, root elements)', () => {
    expect(convert('{"address":{"street":"Main"},"name":"John"}', { objectRootElementName: 'Root' })).toBe(
      '<Root><address><street>Main</street></address><name>John</name></Root>',
    );
    expect(convert('["John","Jane"]', { arrayRootElementName: 'Array', arrayItemElementName: 'Item' })).toBe(
      '<Array><Item>John</Item><Item>Jane</Item></Array>',
    );
    expect(convert('["John"]', { arrayRootElementName: 'People', arrayItemElementName: 'Person' })).toBe(
      '<People><Person>John</Person></People>',
    );
  });

  it('<TextNodeName> (reference, <TextNodeName>)', () => {
    expect(convert('{"a":{"b":{"#text":"value1","c":"value2"}}}', { textNodeName: '#text' })).toBe(
      '<a><b>value1<c>value2</c></b></a>',
    );
  });

  it('<NullValue> (reference, <NullValue>): a null becomes the text; without it, an empty element', () => {
    expect(convert('{"person":{"name":null}}', { nullValue: 'I_AM_NULL' })).toBe(
      '<person><name>I_AM_NULL</name></person>',
    );
    expect(convert('{"person":{"name":null}}')).toBe('<person><name/></person>');
  });

  it('<InvalidCharsReplacement> repairs names XML cannot hold (reference, <InvalidCharsReplacement>)', () => {
    expect(convert('{"a":{"first name":"x","1st":"y","a:b":"z"}}', { invalidCharsReplacement: '_' })).toBe(
      '<a><first_name>x</first_name><_1st>y</_1st><a_b>z</a_b></a>',
    );
  });

  it('arrays repeat their element; numbers and booleans are text', () => {
    expect(convert('{"a":{"b":[1,true,"x"],"c":[[1,2]]}}')).toBe(
      '<a><b>1</b><b>true</b><b>x</b><c><Item>1</Item><Item>2</Item></c></a>',
    );
  });
});

describe('JSONToXML step: source, output, faults', () => {
  it('converts the request body in place; Content-Type application/xml; the result parses as XML', async () => {
    const step = jsonToXmlPolicy.create({}, { namespace: 's', name: 'j2x' });
    const ctx = makePolicyContext({
      method: 'POST',
      body: '{"order":{"id":1,"note":"<&>"}}',
      contentType: 'application/json',
    });
    await step(ctx);
    const xml = ctx.request.body.text();
    expect(xml).toBe(`${DECL}<order><id>1</id><note>&lt;&amp;&gt;</note></order>`);
    expect(ctx.request.headers.get('content-type')).toBe('application/xml');
    expect(parseXmlDocument(xml).documentElement?.nodeName).toBe('order');
  });

  it('leaves a body that is not JSON alone', async () => {
    const step = jsonToXmlPolicy.create({}, { namespace: 's', name: 'j2x' });
    const ctx = makePolicyContext({ method: 'POST', body: '<a/>', contentType: 'application/xml' });
    await step(ctx);
    expect([ctx.request.body.text(), ctx.request.body.changed]).toEqual(['<a/>', false]);
  });

  it('invalid JSON is steps.jsontoxml.ExecutionFailed (500), and jsontoxml faults name the policy', async () => {
    const step = jsonToXmlPolicy.create({}, { namespace: 's', name: 'j2x' });
    const ctx = makePolicyContext({ method: 'POST', body: '{"a":', contentType: 'application/json' });
    const thrown = await Promise.resolve()
      .then(() => step(ctx))
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(PolicyFault);
    expect(thrown).toMatchObject({ status: 500, errorCode: 'steps.jsontoxml.ExecutionFailed' });
    expect((thrown as PolicyFault).message).toMatch(/^JSONToXML\[j2x\]: Execution failed due to reason: Invalid JSON/);
  });

  it('SourceUnavailable for a response source in the request flow (500)', () => {
    const step = jsonToXmlPolicy.create({ source: 'response' }, { namespace: 's', name: 'Convert-JSONToXML' });
    expect(() => step(makePolicyContext({}))).toThrow(
      expect.objectContaining({
        status: 500,
        errorCode: 'steps.jsontoxml.SourceUnavailable',
        message: 'JSONToXML[Convert-JSONToXML]: Source response is not available',
      }),
    );
  });
});

describe('JSONToXML attacks', () => {
  it('a million nested arrays are refused by the depth scan before JSON.parse', () => {
    const result = jsonToXmlTask({ body: Buffer.from('['.repeat(1_000_000)), options: {} });
    expect(result).toEqual({ error: 'Exceeded container depth, max 256 allowed' });
  });

  it('__proto__ and constructor members are elements; nothing is polluted', () => {
    expect(convert('{"__proto__":{"constructor":{"prototype":{"polluted":"yes"}}}}')).toBe(
      '<__proto__><constructor><prototype><polluted>yes</polluted></prototype></constructor></__proto__>',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('markup in values and names cannot inject elements, attributes or a DOCTYPE', () => {
    const xml = convert('{"a":{"@x":"\\"/><evil/>","<!DOCTYPE x>":"]]><evil/>","t":"\\u0000\\u0001ok"}}', {
      attributePrefix: '@',
    });
    const doc = parseXmlDocument(`${DECL}${xml}`);
    expect(doc.documentElement?.getAttribute('x')).toBe('"/><evil/>');
    expect(xml).not.toContain('<evil');
    expect(xml).toContain('<t>\uFFFD\uFFFDok</t>');
  });

  it('a long name repeated by a long array is stopped at the output bound', () => {
    const body = Buffer.from(`{"${'n'.repeat(10_000)}":[${Array(10_000).fill(1).join(',')}]}`);
    expect(jsonToXmlTask({ body, options: {} })).toEqual({
      error: `the XML would exceed ${8 * body.length + 65_536} characters`,
    });
  });
});
