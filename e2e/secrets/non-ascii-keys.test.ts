// Attack surface: how an API key's bytes are read. Envoy hands ext_proc header values as raw bytes
// (raw_value); a key with non-ASCII characters arrives as its UTF-8 bytes in a header and as
// percent-encoded UTF-8 in the query string. Both must verify, through the real ext_proc server,
// against the hash the compiler made of the key's UTF-8 bytes; other bytes must not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../operator/src/compile/compile.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';
import { startTestServer, type TestServer } from '../../extproc/src/server/test-server.test-support.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../envoy/client.ts';
import { runExtProcExchange } from '../envoy/exchange.ts';
import { header, type HttpRequest } from '../envoy/http.ts';

// Latin-1 range, Cyrillic, CJK and an astral-plane emoji: one, two, three and four UTF-8 bytes.
const KEY = 'clé-ключ-鍵-🔑';
const LATIN1_KEY = 'clé-façade';

const manifests = `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: intl, namespace: keys}
spec:
  basePath: /intl
  target: {url: "http://10.0.0.9"}
  flows:
    conditionalFlows:
      - {name: by-query, condition: 'request.queryparam.apikey != null', request: [{policy: key-in-query}]}
      - {name: by-header, request: [{policy: key-in-header}, {policy: echo-name}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: key-in-header, namespace: keys}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.header.x-api-key}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: key-in-query, namespace: keys}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.queryparam.apikey}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: echo-name, namespace: keys}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-name-copy: "{request.header.x-name}"}}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: all, namespace: keys}
spec: {proxies: [intl]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: intl-app, namespace: keys}
spec:
  developer: {email: dev@example.com}
  products: [{name: all}]
  credentials: [{secretRef: {name: intl-key}}, {secretRef: {name: latin1-key}}]
---
apiVersion: v1
kind: Secret
metadata: {name: intl-key, namespace: keys}
data: {consumerKey: ${Buffer.from(KEY, 'utf8').toString('base64')}}
---
apiVersion: v1
kind: Secret
metadata: {name: latin1-key, namespace: keys}
stringData: {consumerKey: "${LATIN1_KEY}"}
`;

/** A header value as Envoy sends it: these bytes (the driver writes each character as one byte). */
const bytes = (b: Buffer) => b.toString('latin1');
const utf8 = (text: string) => bytes(Buffer.from(text, 'utf8'));

let server: TestServer;
let client: ExternalProcessorClient;

beforeAll(async () => {
  const { objects } = parseManifests(manifests, 'keys.yaml');
  const result = compile(objects, { credentialHashKey: 'non-ascii-test-key' });
  expect(result.errors).toEqual([]);
  server = await startTestServer({ snapshot: result.snapshot.runtime });
  client = createExtProcClient(server.address);
});

afterAll(async () => {
  client.close();
  await server.close();
});

async function send(path: string, headers: Array<[string, string]> = []) {
  const seen: HttpRequest[] = [];
  const result = await runExtProcExchange({
    client,
    route: 'keys/intl',
    timeoutMs: 5_000,
    request: { method: 'GET', path, authority: 'api.test', headers },
    upstream: (req) => {
      seen.push(req);
      return { status: 200, headers: [], body: Buffer.alloc(0) };
    },
  });
  expect(result.violations).toEqual([]);
  return { status: result.response.status, upstream: seen[0], body: result.response.body.toString() };
}

describe('a non-ASCII API key', () => {
  it('verifies sent as UTF-8 bytes in a header', async () => {
    expect((await send('/intl/a', [['x-api-key', utf8(KEY)]])).status).toBe(200);
  });

  it('verifies sent percent-encoded (UTF-8) in the query string', async () => {
    expect((await send(`/intl/a?apikey=${encodeURIComponent(KEY)}`)).status).toBe(200);
  });

  it('verifies a Latin-1-range key both as UTF-8 and as ISO-8859-1 bytes in a header, and in the query', async () => {
    expect((await send('/intl/a', [['x-api-key', utf8(LATIN1_KEY)]])).status).toBe(200);
    expect((await send('/intl/a', [['x-api-key', bytes(Buffer.from(LATIN1_KEY, 'latin1'))]])).status).toBe(200);
    expect((await send(`/intl/a?apikey=${encodeURIComponent(LATIN1_KEY)}`)).status).toBe(200);
  });

  it.each([
    ['its UTF-8 bytes read as Latin-1 (mojibake)', utf8(Buffer.from(KEY, 'utf8').toString('latin1'))],
    ['a truncated UTF-8 sequence', bytes(Buffer.from(KEY, 'utf8').subarray(0, -1))],
    ['the key without its emoji', utf8(KEY.slice(0, -2))],
    ['a NUL byte inside', utf8(`${KEY}\u0000`)],
  ])('is refused as %s', async (_what, value) => {
    const answer = await send('/intl/a', [['x-api-key', value]]);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('oauth.v2.InvalidApiKey');
  });

  it('is refused percent-encoded as Latin-1 when it has characters outside Latin-1', async () => {
    const answer = await send(`/intl/a?apikey=${escape(KEY)}`);
    expect(answer.status).toBe(401);
  });
});

describe('non-ASCII header values through the flow', () => {
  it('reach the upstream with the bytes the client sent when a policy copies them', async () => {
    const name = 'Zoë Ñandú 山田 🔑';
    const answer = await send('/intl/a', [
      ['x-api-key', utf8(KEY)],
      ['x-name', utf8(name)],
    ]);
    expect(answer.status).toBe(200);
    expect(header(answer.upstream!.headers, 'x-name-copy')).toBe(utf8(name));
    expect(header(answer.upstream!.headers, 'x-name')).toBe(utf8(name));
  });
});
