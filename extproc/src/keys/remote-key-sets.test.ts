// RemoteKeySetCache against real local servers: caching by max-age, the bounded unknown-kid refetch,
// stale-if-error, backoff after a failure, the fetch deadline and body cap, https with a CA made here,
// OpenID discovery, and the URLs it refuses (http, link-local and metadata addresses).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createCa, createServingCert } from '../../../e2e/env/pki.ts';
import { KeysUnavailableError, RemoteKeySetCache } from './remote-key-sets.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise<void>((r) => s.close(() => r()));
    }),
  );
});

async function serve(handler: Handler): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const jwks = (...kids: string[]) => JSON.stringify({ keys: kids.map((kid) => ({ kty: 'oct', kid, k: 'AA' })) });

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('RemoteKeySetCache', () => {
  it('caches a JWKS for its max-age (held within the bounds), then fetches it again', async () => {
    const { url, hits } = await serve((_req, res) => {
      res.setHeader('cache-control', 'public, max-age=120');
      res.end(jwks('k1'));
    });
    const c = clock();
    const cache = new RemoteKeySetCache({ allowHttp: true, now: c.now });
    const source = { jwksUri: `${url}/jwks` };
    expect((await cache.jwks(source)).keys[0]!.kid).toBe('k1');
    await cache.jwks(source);
    c.advance(119_000);
    await cache.jwks(source);
    expect(hits).toHaveLength(1);
    c.advance(2_000);
    await cache.jwks(source);
    expect(hits).toHaveLength(2);
  });

  it('refetches once for an unknown kid, then not again within the interval, however many kids arrive', async () => {
    let kids = ['k1'];
    const { url, hits } = await serve((_req, res) => res.end(jwks(...kids)));
    const c = clock();
    const cache = new RemoteKeySetCache({ allowHttp: true, now: c.now, refetchIntervalMs: 30_000 });
    const source = { jwksUri: `${url}/jwks` };
    await cache.jwks(source);
    kids = ['k1', 'k2']; // rotation: a new key appears
    c.advance(31_000);
    expect((await cache.jwks(source, 'k2')).keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
    expect(hits).toHaveLength(2);
    for (let i = 0; i < 50; i++) await cache.jwks(source, `random-${i}`);
    expect(hits).toHaveLength(2);
    c.advance(30_000);
    await cache.jwks(source, 'random-again');
    expect(hits).toHaveLength(3);
  });

  it('serves the last good keys while the URL fails, for staleIfErrorMs past their expiry, then refuses', async () => {
    let up = true;
    const { url, hits } = await serve((_req, res) => {
      if (up) res.end(jwks('k1'));
      else {
        res.statusCode = 503;
        res.end();
      }
    });
    const c = clock();
    const cache = new RemoteKeySetCache({
      allowHttp: true,
      now: c.now,
      ttlMs: 60_000,
      staleIfErrorMs: 600_000,
      failureBackoffMs: 5_000,
    });
    const source = { jwksUri: `${url}/jwks` };
    await cache.jwks(source);
    up = false;
    c.advance(61_000);
    expect((await cache.jwks(source)).keys[0]!.kid).toBe('k1');
    expect(hits).toHaveLength(2);
    // Within the backoff no new attempt is made.
    await cache.jwks(source);
    expect(hits).toHaveLength(2);
    c.advance(600_000);
    await expect(cache.jwks(source)).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it('a URL that never answers fails within the deadline, and is not retried within the backoff', async () => {
    const { url, hits } = await serve(() => undefined);
    const cache = new RemoteKeySetCache({ allowHttp: true, timeoutMs: 300, failureBackoffMs: 60_000 });
    const started = Date.now();
    await expect(cache.jwks({ jwksUri: `${url}/jwks` })).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(cache.jwks({ jwksUri: `${url}/jwks` })).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(hits).toHaveLength(1);
  });

  it('refuses a body over the cap and a document that is not a key set', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/big') res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(300_000) }));
      else res.end('{"not":"keys"}');
    });
    const cache = new RemoteKeySetCache({ allowHttp: true });
    await expect(cache.jwks({ jwksUri: `${url}/big` })).rejects.toThrow(/over 262144 bytes/);
    await expect(cache.jwks({ jwksUri: `${url}/other` })).rejects.toThrow(/not a JWKS/);
  });

  it.each([
    ['http by default', 'http://127.0.0.1:9/jwks', /only https/],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data', /cloud metadata/],
    ['a metadata name', 'https://metadata.google.internal/jwks', /cloud metadata/],
    ['link-local IPv6', 'https://[fe80::1]/jwks', /link-local/],
    ['IPv4-mapped metadata', 'https://[::ffff:169.254.169.254]/jwks', /cloud metadata/],
    ['credentials in the URL', 'https://user:pw@issuer.test/jwks', /credentials/],
  ])('refuses %s without connecting', async (_what, url, reason) => {
    await expect(new RemoteKeySetCache().jwks({ jwksUri: url })).rejects.toThrow(reason);
  });

  it('follows an OpenID discovery document to its jwks_uri, which is held to the same rules', async () => {
    const { url, hits } = await serve((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer: 'x', jwks_uri: `http://${req.headers.host}/keys` }));
      else if (req.url === '/evil/.well-known/openid-configuration')
        res.end(JSON.stringify({ jwks_uri: 'http://169.254.169.254/keys' }));
      else res.end(jwks('k1'));
    });
    const cache = new RemoteKeySetCache({ allowHttp: true });
    expect((await cache.jwks({ discoveryUri: `${url}/.well-known/openid-configuration` })).keys[0]!.kid).toBe('k1');
    expect(hits).toEqual(['/.well-known/openid-configuration', '/keys']);
    await expect(cache.jwks({ discoveryUri: `${url}/evil/.well-known/openid-configuration` })).rejects.toThrow(
      /cloud metadata/,
    );
  });

  it('fetches over https from a server whose CA it is given, and refuses one it does not trust', async () => {
    const ca = await createCa('jwks-test-ca');
    const leaf = await createServingCert(ca, 'localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    const server = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end(jwks('k1')));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    expect((await new RemoteKeySetCache({ ca: ca.cert }).jwks({ jwksUri: url })).keys).toHaveLength(1);
    await expect(new RemoteKeySetCache().jwks({ jwksUri: url })).rejects.toBeInstanceOf(KeysUnavailableError);
  });
});
