import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { xslTransform, type XSLTransformConfig } from '../../../../protos/policies/mediation/xsl-transform.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { xslTransformPolicy, xslTransformTask } from './xsl-transform.ts';

const meta = { namespace: 'bank', name: 'soap-to-json' };

const quoteToJson = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="urn:example:stock" exclude-result-prefixes="soap m">
  <xsl:output method="text"/>
  <xsl:param name="currency" select="'USD'"/>
  <xsl:param name="caller"/>
  <xsl:template match="/">{"symbol":"<xsl:value-of select="//m:Symbol"/>","currency":"<xsl:value-of select="$currency"/>","caller":"<xsl:value-of select="$caller"/>"}</xsl:template>
</xsl:stylesheet>`;

const envelope = `<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><m:GetQuote xmlns:m="urn:example:stock"><m:Symbol>GHSE</m:Symbol></m:GetQuote></soap:Body>
</soap:Envelope>`;

async function run(config: Partial<XSLTransformConfig>, opts: PolicyContextOptions = {}) {
  const full: XSLTransformConfig = { stylesheet: quoteToJson, ...config };
  const step = xslTransformPolicy.create(full, meta);
  const ctx = makePolicyContext({ method: 'POST', body: envelope, contentType: 'text/xml', ...opts });
  try {
    await step(ctx);
    return { ctx, fault: undefined };
  } catch (error) {
    if (!(error instanceof PolicyFault)) throw error;
    return { ctx, fault: error };
  }
}

describe('XSLTransform', () => {
  it('replaces the source message content with the output, parameters from variables and literals (Apigee example shape)', async () => {
    const { ctx, fault } = await run(
      {
        source: 'request',
        parameters: {
          ignoreUnresolvedVariables: true,
          parameter: [
            { name: 'caller', ref: 'authn.uid' },
            { name: 'currency', value: 'EUR' },
          ],
        },
      },
      { variables: { 'authn.uid': 'alice' } },
    );
    expect(fault).toBeUndefined();
    expect(JSON.parse(ctx.request.body.text())).toEqual({ symbol: 'GHSE', currency: 'EUR', caller: 'alice' });
    expect(ctx.variables.get('xsl.soap-to-json.failed')).toBe(false);
  });

  it('writes to outputVariable and leaves the message alone', async () => {
    const { ctx, fault } = await run({ outputVariable: 'quote.json' });
    expect(fault).toBeUndefined();
    expect(JSON.parse(ctx.variables.getString('quote.json')!)).toMatchObject({ symbol: 'GHSE', currency: 'USD' });
    expect(ctx.request.body.text()).toBe(envelope);
  });

  it('reads a variable holding XML as the source', async () => {
    const { ctx } = await run(
      { source: 'stored.envelope', outputVariable: 'out' },
      { variables: { 'stored.envelope': envelope.replace('GHSE', 'VAR') } },
    );
    expect(ctx.variables.getString('out')).toContain('"symbol":"VAR"');
  });

  it('an unresolved ref without a value fails with XSLEvaluationFailed unless ignoreUnresolvedVariables', async () => {
    const parameter = [{ name: 'caller', ref: 'authn.uid' }];
    const strict = await run({ parameters: { parameter } });
    expect(strict.fault?.errorCode).toBe('steps.xsl.XSLEvaluationFailed');
    expect(strict.fault?.message).toMatch(/unresolved variable authn\.uid$/);
    expect(strict.fault?.status).toBe(500);
    expect(strict.ctx.variables.get('xsl.soap-to-json.failed')).toBe(true);
    const lenient = await run({ parameters: { ignoreUnresolvedVariables: true, parameter } });
    expect(lenient.fault).toBeUndefined();
    expect(lenient.ctx.request.body.text()).toContain('"caller":""');
  });

  it('a missing source is XSLSourceMessageNotAvailable, with Apigee faultstring', async () => {
    const { fault, ctx } = await run({ source: 'response' });
    expect(fault?.errorCode).toBe('steps.xsl.XSLSourceMessageNotAvailable');
    expect(fault?.message).toBe('response message is not available for XSL: soap-to-json');
    expect(ctx.variables.get('xsl.soap-to-json.failed')).toBe(true);
    expect((await run({ source: 'unset.var', outputVariable: 'o' })).fault?.errorCode).toBe(
      'steps.xsl.XSLSourceMessageNotAvailable',
    );
  });

  it('a body that is not XML is XSLEvaluationFailed', async () => {
    const { fault } = await run({}, { body: '{"not":"xml"}', contentType: 'application/json' });
    expect(fault?.errorCode).toBe('steps.xsl.XSLEvaluationFailed');
    expect(fault?.message).toMatch(/^Evaluation of XSL soap-to-json failed with reason: /);
  });

  it('refuses at compile time a stylesheet that does not parse, naming the field', () => {
    const problems = xslTransform.validate!({
      stylesheet: '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template>',
    });
    expect(problems.map((p) => p.path)).toEqual(['stylesheet']);
    expect(problems[0]?.message).toMatch(/not well-formed XML/);
    expect(xslTransform.validate!({ stylesheet: '<html/>' })[0]?.message).toMatch(/xsl:stylesheet or xsl:transform/);
    const variableSource = xslTransform.validate!({ stylesheet: quoteToJson, source: 'some.var' });
    expect(variableSource.map((p) => p.path)).toEqual(['outputVariable']);
    expect(variableSource[0]?.message).toMatch(/required when source is a variable/);
    expect(() => xslTransformPolicy.create({ stylesheet: '<x' }, meta)).toThrow(/xslTransform\.stylesheet/);
  });
});

describe('XSLTransform attacks: refused or inert, never a file read or a network call', () => {
  const xsl = (body: string, decl = '') =>
    `${decl}<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">${body}</xsl:stylesheet>`;

  it.each([
    ['xsl:include', xsl('<xsl:include href="file:///etc/passwd"/>'), /xsl:include is not allowed/],
    ['xsl:import', xsl('<xsl:import href="http://169.254.169.254/latest/meta-data/"/>'), /xsl:import is not allowed/],
    [
      'document()',
      xsl('<xsl:template match="/"><xsl:copy-of select="document(\'/etc/passwd\')"/></xsl:template>'),
      /document\(\)/,
    ],
    [
      'document() spaced',
      xsl('<xsl:template match="/"><x a="{document (\'/etc/hostname\')}"/></xsl:template>'),
      /document\(\)/,
    ],
    [
      'an external entity',
      xsl('<xsl:template match="/">&xxe;</xsl:template>', '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
      /DOCTYPE/,
    ],
  ])('refuses a stylesheet with %s at compile time', (_name, stylesheet, message) => {
    const problems = xslTransform.validate!({ stylesheet });
    expect(problems.map((p) => p.message).join('; ')).toMatch(message);
  });

  const identity = xsl(
    '<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>',
  );

  it('gives the engine loaders that refuse every URI, should a check ever be missed', async () => {
    // Straight to the task, past the compile-time check: the engine itself must not read the file.
    const read = await xslTransformTask({
      body: Buffer.from('<a/>'),
      stylesheet: xsl(
        '<xsl:template match="/"><r><xsl:copy-of select="document(\'/etc/hostname\')"/></r></xsl:template>',
      ),
      parameters: [],
    });
    const hostname = readFileSync('/etc/hostname', 'utf8').trim();
    if ('output' in read) expect(read.output).not.toContain(hostname);
    const include = await xslTransformTask({
      body: Buffer.from('<a/>'),
      stylesheet: xsl('<xsl:include href="file:///etc/hostname"/><xsl:template match="/"><r/></xsl:template>'),
      parameters: [],
    });
    expect('output' in include ? include.output : include.failure).not.toContain(hostname);
  });

  it.each([
    ['an external entity in the input', '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'],
    [
      'billion laughs',
      `<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>`,
    ],
    ['a document 10,000 elements deep', `${'<d>'.repeat(10_000)}${'</d>'.repeat(10_000)}`],
    ['malformed XML', '<a><b></a>'],
  ])('answers XSLEvaluationFailed for %s', async (_name, body) => {
    const { fault } = await run({ stylesheet: identity }, { body, contentType: 'application/xml' });
    expect(fault?.errorCode).toBe('steps.xsl.XSLEvaluationFailed');
    expect(fault?.message).not.toContain('root:');
  });

  it('refuses an input over the size bound before scanning it', async () => {
    const result = await xslTransformTask({
      body: Buffer.alloc(5 * 1024 * 1024, 0x20),
      stylesheet: identity,
      parameters: [],
    });
    expect('failure' in result && result.failure).toMatch(/larger than/);
  });
});
