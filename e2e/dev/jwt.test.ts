// VerifyJWT end to end: devproxy on xDS, a real extproc whose key service fetches a JWKS from an
// HTTPS server started here (certificates issued here), the echo upstream. Key rotation (a new kid
// appears: one bounded refetch picks it up, random kids make no more requests), and the JWKS server
// going down (the last good keys keep working for the stale bound, then Apigee's fault, never a hang).
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, exportJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteKeySetCache } from '../../extproc/src/keys/remote-key-sets.ts';
import { createCa, createServingCert } from '../env/pki.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

const ISSUER = 'https://issuer.test';
const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let stack: Stack;
let echo: { server: Server; port: number };
let jwksServer: HttpsServer;
let published: JWK[] = [];
let up = true;
const hits: string[] = [];
let offsetMs = 0;
const now = () => Date.now() + offsetMs;

async function jwk(key: KeyObject, kid: string): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, alg: 'ES256', use: 'sig' };
}

async function token(key: KeyObject, kid: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000); // extproc checks times by the real clock; only the key cache is shifted
  return new CompactSign(Buffer.from(JSON.stringify({ iss: ISSUER, sub: 'alice', iat, exp: iat + 3600 })))
    .setProtectedHeader({ alg: 'ES256', kid })
    .sign(key);
}

const call = async (jwt: string) =>
  send(`${stack.baseUrl()}/jwt/orders`, { headers: { authorization: `Bearer ${jwt}` } });
const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

beforeAll(async () => {
  const ca = await createCa('jwks-e2e-ca');
  const leaf = await createServingCert(ca, '127.0.0.1', { dns: ['localhost'], ip: ['127.0.0.1'] });
  published = [await jwk(k1.publicKey, 'k1')];
  jwksServer = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    hits.push(req.url ?? '');
    if (!up) {
      res.statusCode = 503;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/jwk-set+json');
    res.setHeader('cache-control', 'max-age=60');
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUri = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  const keys = new RemoteKeySetCache({
    ca: ca.cert,
    now,
    refetchIntervalMs: 30_000,
    staleIfErrorMs: 10 * 60_000,
    failureBackoffMs: 5_000,
  });
  [stack, echo] = await Promise.all([startStack({ extprocKeys: keys }), startEcho()]);
  await stack.publish(`${proxyYaml({
    name: 'jwt',
    basePath: '/jwt',
    upstreamPort: echo.port,
    flows: 'flows: {preFlow: {request: [{policy: verify-jwt}]}}',
  })}---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: verify-jwt, namespace: test}
spec: {type: VerifyJWT, verifyJWT: {algorithms: [ES256], publicKey: {jwksUri: "${jwksUri}"}, issuer: "${ISSUER}"}}
`);
  await pathReady(stack);
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
  jwksServer?.closeAllConnections();
  await new Promise<void>((r) => jwksServer?.close(() => r()));
});

describe('VerifyJWT with a JWKS over HTTPS, through devproxy', () => {
  it('passes a token signed by a published key and refuses a forged one', async () => {
    const ok = await call(await token(k1.privateKey, 'k1'));
    expect(ok.status).toBe(200);
    expect(ok.echo?.path).toBe('/orders');
    const forged = await call(await token(k2.privateKey, 'k1'));
    expect([forged.status, errorCode(forged.body)]).toEqual([401, 'steps.jwt.InvalidToken']);
    expect(hits).toEqual(['/jwks']);
  });

  it('picks up a rotated key with one refetch; random kids make no more requests to the issuer', async () => {
    published = [await jwk(k1.publicKey, 'k1'), await jwk(k2.publicKey, 'k2')];
    offsetMs += 31_000; // past the refetch interval since the first fetch
    const rotated = await call(await token(k2.privateKey, 'k2'));
    expect(rotated.status).toBe(200);
    expect(hits).toHaveLength(2);
    for (let i = 0; i < 20; i++) {
      const reply = await call(await token(k2.privateKey, `random-${i}`));
      expect([reply.status, errorCode(reply.body)]).toEqual([401, 'steps.jwt.NoMatchingPublicKey']);
    }
    expect(hits).toHaveLength(2);
  });

  it('keeps the last good keys while the JWKS server is down, for the stale bound, then answers UnknownException', async () => {
    up = false;
    offsetMs += 61_000; // the cached set has expired
    const stale = await call(await token(k1.privateKey, 'k1'));
    expect(stale.status).toBe(200);
    expect(hits.length).toBeGreaterThan(2); // it tried, and was refused
    offsetMs += 10 * 60_000; // past the stale bound
    const started = Date.now();
    const gone = await call(await token(k1.privateKey, 'k1'));
    expect([gone.status, errorCode(gone.body)]).toEqual([401, 'steps.jwt.UnknownException']);
    expect(Date.now() - started).toBeLessThan(5_000);
    up = true;
    offsetMs += 6_000; // past the failure backoff: the next request fetches again
    expect((await call(await token(k1.privateKey, 'k1'))).status).toBe(200);
  });
});
