// JSONToXML and XMLToJSON end to end (docs/policies.md#jsontoxml, #xmltojson): a JSON API in front of an
// XML-only upstream. Manifests compiled by the real compiler, devproxy on xDS, a real extproc, and an
// upstream that accepts only XML and answers XML, over real HTTP.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { closeServer, pathReady, proxyYaml, send, startStack, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;
const policy = (name: string, spec: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: ${name}, namespace: test}
spec: ${spec}
`;

/** What the XML upstream saw of each request. */
const seen: Array<{ contentType: string | undefined; body: string }> = [];

/** Refuses anything but XML (415); answers an XML order confirmation that carries the request body back. */
function startXmlUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ contentType: req.headers['content-type'], body });
      if (!/xml/.test(req.headers['content-type'] ?? '')) {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('XML only');
        return;
      }
      const id = /<id>([^<]*)<\/id>/.exec(body)?.[1] ?? '';
      res
        .writeHead(200, { 'content-type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0"?><confirmation xmlns:s="urn:shop" status="accepted"><s:order>${id}</s:order><lines><line>1</line><line>2</line></lines><total>12.50</total></confirmation>`,
        );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

let stack: Stack;
let upstream: { server: Server; port: number };

beforeAll(async () => {
  [stack, upstream] = await Promise.all([startStack(), startXmlUpstream()]);
  await stack.publish(
    [
      proxyYaml({
        name: 'orders',
        basePath: '/orders',
        upstreamPort: upstream.port,
        flows: 'flows: {preFlow: {request: [{policy: to-xml}], response: [{policy: to-json}]}}',
      }),
      policy('to-xml', '{type: JSONToXML, jsonToXML: {options: {objectRootElementName: order}}}'),
      policy(
        'to-json',
        '{type: XMLToJSON, xmlToJSON: {format: yahoo, options: {namespaceSeparator: ":", attributePrefix: "@"}}}',
      ),
      proxyYaml({
        name: 'broken',
        basePath: '/broken',
        upstreamPort: upstream.port,
        flows: 'flows: {preFlow: {request: [{policy: to-xml}]}}',
      }),
    ].join('---\n'),
  );
  await pathReady(stack);
});

afterAll(async () => {
  await stack?.close();
  if (upstream) await closeServer(upstream.server);
});

describe('a JSON API in front of an XML upstream', () => {
  it('the client sends JSON, the upstream gets XML, the client gets the XML answer as JSON', async () => {
    seen.length = 0;
    const reply = await send(`${stack.baseUrl()}/orders/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'A-17', items: ['tea', 'cup'], note: 'fragile <glass>' }),
    });
    expect(seen).toEqual([
      {
        contentType: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><order><id>A-17</id><items>tea</items><items>cup</items><note>fragile &lt;glass&gt;</note></order>',
      },
    ]);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual({
      confirmation: { '@status': 'accepted', 's:order': 'A-17', lines: { line: [1, 2] }, total: 12.5 },
    });
  });

  it('a body that is not JSON is not converted: the upstream refuses it as it would without the proxy', async () => {
    const reply = await send(`${stack.baseUrl()}/broken/x`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(reply.status).toBe(415);
  });

  it('invalid JSON is steps.jsontoxml.ExecutionFailed (500), and never reaches the upstream', async () => {
    seen.length = 0;
    const reply = await send(`${stack.baseUrl()}/broken/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":',
    });
    expect(reply.status).toBe(500);
    expect((JSON.parse(reply.body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode).toBe(
      'steps.jsontoxml.ExecutionFailed',
    );
    expect(seen).toEqual([]);
  });
});
