// A SOAP proxy end to end (docs/policies.md#soapmessagevalidation, #xsltransform): manifests compiled by
// the real compiler, devproxy on xDS, a real extproc with a worker pool (the transform runs there) and
// the echo upstream. A valid SOAP request is validated against the WSDL's schema, then transformed to
// JSON for the upstream; an invalid one gets Apigee's fault; a stylesheet that loops is stopped by the
// phase budget and the next request is served.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { eventually } from '../env/eventually.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;

const indent = (text: string, spaces: number) => text.replace(/\n/g, `\n${' '.repeat(spaces)}`);

const policy = (name: string, type: string, member: string, body: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: ${name}, namespace: test}
spec:
  type: ${type}
  ${member}:
    ${indent(body, 4)}
`;

const wsdl = `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:example:accounts" targetNamespace="urn:example:accounts">
  <wsdl:types>
    <xs:schema targetNamespace="urn:example:accounts" elementFormDefault="qualified">
      <xs:element name="GetBalance"><xs:complexType><xs:sequence>
        <xs:element name="Account" type="tns:AccountNumber"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:simpleType name="AccountNumber"><xs:restriction base="xs:string"><xs:pattern value="[0-9]{8}"/></xs:restriction></xs:simpleType>
    </xs:schema>
  </wsdl:types>
</wsdl:definitions>`;

const toJson = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:a="urn:example:accounts" exclude-result-prefixes="a">
  <xsl:output method="text"/>
  <xsl:param name="channel"/>
  <xsl:template match="/">{"account":"<xsl:value-of select="//a:Account"/>","channel":"<xsl:value-of select="$channel"/>"}</xsl:template>
</xsl:stylesheet>`;

const forever = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:call-template name="loop"><xsl:with-param name="n" select="0"/></xsl:call-template></xsl:template>
  <xsl:template name="loop"><xsl:param name="n"/><xsl:if test="$n &gt;= 0"><xsl:call-template name="loop"><xsl:with-param name="n" select="$n + 1"/></xsl:call-template></xsl:if></xsl:template>
</xsl:stylesheet>`;

const envelope = (account: string) =>
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetBalance xmlns="urn:example:accounts"><Account>${account}</Account></GetBalance></soap:Body></soap:Envelope>`;

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  [stack, echo] = await Promise.all([
    startStack({ extprocWork: { workers: 1, minBytes: 1024, budgetMs: 2_000 } }),
    startEcho(),
  ]);
  await stack.publish(
    [
      proxyYaml({
        name: 'accounts',
        basePath: '/accounts',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: validate-soap}, {policy: soap-to-json}]}}',
      }),
      policy(
        'validate-soap',
        'SOAPMessageValidation',
        'soapMessageValidation',
        `soapMessage: {version: "1.1"}\nresourceURL: wsdl://accounts.wsdl\nschema: ${JSON.stringify(wsdl)}`,
      ),
      policy(
        'soap-to-json',
        'XSLTransform',
        'xslTransform',
        `resourceURL: xsl://to-json.xsl\nstylesheet: ${JSON.stringify(toJson)}\nparameters: {parameter: [{name: channel, ref: request.header.x-channel}]}`,
      ),
      proxyYaml({
        name: 'loop',
        basePath: '/loop',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: forever}]}}',
      }),
      policy('forever', 'XSLTransform', 'xslTransform', `stylesheet: ${JSON.stringify(forever)}`),
    ].join('---\n'),
  );
  await pathReady(stack);
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  send(`${stack.baseUrl()}${path}`, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body });

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

describe('a SOAP proxy through devproxy', () => {
  it('validates a good request against the WSDL, transforms it to JSON, and the upstream gets the JSON', async () => {
    const reply = await post('/accounts/balance', envelope('12345678'), { 'x-channel': 'branch' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.echo!.body)).toEqual({ account: '12345678', channel: 'branch' });
  });

  it("answers an invalid request with Apigee's steps.messagevalidation.Failed (500) and never forwards it", async () => {
    const reply = await post('/accounts/balance', envelope('12-34'));
    expect(reply.status).toBe(500);
    expect(errorCode(reply.body)).toBe('steps.messagevalidation.Failed');
    expect(reply.echo).toBeUndefined();
  });

  it('stops a stylesheet that never ends at the phase budget, and serves the next request', async () => {
    const reply = await post('/loop/x', '<a/>');
    expect(reply.status).toBe(503);
    expect(errorCode(reply.body)).toBe('gatehouse.WorkBudgetExceeded');
    // The pool replaces the terminated worker; once it is up, the proxy serves again.
    await eventually(
      'a transformed request after the looping one',
      async () => {
        const next = await post('/accounts/balance', envelope('87654321'), { 'x-channel': 'app' });
        if (next.status !== 200) throw new Error(`${next.status} ${next.body.slice(0, 200)}`);
        expect(JSON.parse(next.echo!.body)).toEqual({ account: '87654321', channel: 'app' });
        return true;
      },
      30_000,
    );
  });
});
