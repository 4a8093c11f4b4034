// The egress client against real HTTP and HTTPS servers started here, with certificates issued here
// (e2e/tls/pki.ts): trust from a CA bundle, mTLS, wrong CA, expired certificate, timeouts that end
// without hanging, refused connections, the response cap, redirects not followed, names that resolve
// to metadata or private addresses (a lookup the test controls stands in for DNS), pool reuse.
import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, createCa, issueLeaf, type TestCa, type TestLeaf } from '../../../e2e/tls/pki.ts';
import type { EgressRules } from '../flow/types.ts';
import { EgressClient } from './client.ts';
import {
  EgressConnectError,
  EgressInvalidUrlError,
  EgressRefusedError,
  EgressResponseTooLargeError,
  EgressTimeoutError,
  EgressTlsError,
} from './errors.ts';

const loopback: EgressRules = { allowLinkLocal: false, privateNetworks: ['127.0.0.0/8'] };
const strict: EgressRules = { allowLinkLocal: false, privateNetworks: [] };
const linkLocalToo: EgressRules = { allowLinkLocal: true, privateNetworks: ['127.0.0.0/8'] };

let ca: TestCa;
let otherCa: TestCa;
let clientLeaf: TestLeaf;
const servers: Array<Server | HttpsServer> = [];
const clients: EgressClient[] = [];

async function listen<S extends Server | HttpsServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function client(options: ConstructorParameters<typeof EgressClient>[0] = {}): EgressClient {
  const c = new EgressClient(options);
  clients.push(c);
  return c;
}

/** A lookup that answers every name with the given addresses (DNS as an attacker would set it). */
const resolvesTo =
  (...addresses: string[]) =>
  (_host: string, _options: unknown, callback: (err: null, a: LookupAddress[]) => void) =>
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

let tlsPort: number;
let mtlsPort: number;
let expiredPort: number;
let httpPort: number;
let handshakes = 0;
const hits: string[] = [];

beforeAll(async () => {
  ca = await createCa('callout-ca');
  otherCa = await createCa('other-ca');
  const leaf = await issueLeaf(ca, 'callout.test', { dns: ['callout.test', 'localhost'], ip: ['127.0.0.1'] });
  clientLeaf = await issueLeaf(ca, 'gateway-client');
  const expired = await issueLeaf(ca, 'callout.test', {
    ip: ['127.0.0.1'],
    notBefore: new Date(Date.now() - 3 * 24 * 3600_000),
    lifetimeMs: 24 * 3600_000,
  });
  const tls = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    hits.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, method: req.method, hello: req.headers['x-hello'] ?? null }));
  });
  tls.on('secureConnection', () => (handshakes += 1));
  tlsPort = await listen(tls);
  const mtls = createHttpsServer(
    { cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => res.end(`client ${String((req.socket as TLSSocket).getPeerCertificate().subject.CN)}`),
  );
  mtlsPort = await listen(mtls);
  expiredPort = await listen(createHttpsServer({ cert: expired.cert, key: expired.key }, (_req, res) => res.end('x')));
  const http = createHttpServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/hang') return; // never answers
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${httpPort}/elsewhere` });
      return res.end();
    }
    if (req.url === '/huge') {
      res.setHeader('content-type', 'text/plain');
      // Chunked, no content-length: the cap is enforced while reading.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const push = () => {
        while (sent < 64 && res.write(chunk)) sent += 1;
        if (sent < 64) res.once('drain', push);
        else res.end();
      };
      return push();
    }
    if (req.url === '/huge-header') {
      res.setHeader('x-flood', 'a'.repeat(200 * 1024));
      return res.end('x');
    }
    if (req.url === '/declared-huge') {
      res.setHeader('content-length', String(10 * 1024 * 1024));
      return res.write('a');
    }
    if (req.url === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        res.end(JSON.stringify({ body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] })),
      );
      return;
    }
    res.end('ok');
  });
  httpPort = await listen(http);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const get = (url: string) => ({ url, method: 'GET', headers: [] as Array<[string, string]> });

describe('TLS', () => {
  it('trusts the server through the CA bundle given, and sends headers', async () => {
    const res = await client().send(
      { ...get(`https://127.0.0.1:${tlsPort}/a?b=1`), headers: [['x-hello', 'world']] },
      { timeoutMs: 5_000, tls: { ca: bundle(otherCa, ca) }, rules: loopback },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ path: '/a?b=1', method: 'GET', hello: 'world' });
    expect(res.headers).toContainEqual(['content-type', 'application/json']);
  });

  it('checks the name the URL gives against the certificate (a name resolved by the lookup)', async () => {
    const c = client({ lookup: resolvesTo('127.0.0.1') as never });
    const res = await c.send(get(`https://callout.test:${tlsPort}/named`), {
      timeoutMs: 5_000,
      tls: { ca: ca.cert },
      rules: loopback,
    });
    expect(res.status).toBe(200);
    await expect(
      c.send(get(`https://wrong-name.test:${tlsPort}/`), { timeoutMs: 5_000, tls: { ca: ca.cert }, rules: loopback }),
    ).rejects.toBeInstanceOf(EgressTlsError);
  });

  it('refuses a server whose CA is not the one trusted', async () => {
    const err = await client()
      .send(get(`https://127.0.0.1:${tlsPort}/`), { timeoutMs: 5_000, tls: { ca: otherCa.cert }, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressTlsError);
    expect((err as Error).message).not.toContain('BEGIN');
  });

  it('refuses an expired server certificate, unless validation errors are ignored', async () => {
    const c = client();
    const err = await c
      .send(get(`https://127.0.0.1:${expiredPort}/`), { timeoutMs: 5_000, tls: { ca: ca.cert }, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressTlsError);
    expect((err as Error).message).toContain('CERT_HAS_EXPIRED');
    const res = await c.send(get(`https://127.0.0.1:${expiredPort}/`), {
      timeoutMs: 5_000,
      tls: { verify: false },
      rules: loopback,
    });
    expect(res.status).toBe(200);
  });

  it('presents the client certificate (mTLS); without it the server refuses the handshake', async () => {
    const c = client();
    const res = await c.send(get(`https://127.0.0.1:${mtlsPort}/`), {
      timeoutMs: 5_000,
      tls: { ca: ca.cert, cert: clientLeaf.cert, key: clientLeaf.key },
      rules: loopback,
    });
    expect(res.body.toString()).toBe('client gateway-client');
    const err = await c
      .send(get(`https://127.0.0.1:${mtlsPort}/`), { timeoutMs: 5_000, tls: { ca: ca.cert }, rules: loopback })
      .catch((e: unknown) => e);
    expect([EgressTlsError, EgressConnectError].some((k) => err instanceof k)).toBe(true);
  });

  it('reuses one connection (one TLS handshake) for sequential calls', async () => {
    const c = client();
    const before = handshakes;
    for (let i = 0; i < 10; i++) {
      const res = await c.send(get(`https://127.0.0.1:${tlsPort}/pooled/${i}`), {
        timeoutMs: 5_000,
        tls: { ca: ca.cert },
        rules: loopback,
      });
      expect(res.status).toBe(200);
    }
    expect(handshakes - before).toBe(1);
    expect(c.stats()).toEqual({ connections: 1, pools: 1 });
  });
});

describe('failures end, with their own error', () => {
  it('times out a server that never answers, and closes the connection', async () => {
    const err = await client()
      .send(get(`http://127.0.0.1:${httpPort}/hang`), { timeoutMs: 200, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressTimeoutError);
  });

  it('reports a refused connection', async () => {
    const closed = createHttpServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const err = await client()
      .send(get(`http://127.0.0.1:${port}/`), { timeoutMs: 5_000, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressConnectError);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('caps a huge response, declared or streamed', async () => {
    const c = client();
    for (const path of ['/huge', '/declared-huge']) {
      const err = await c
        .send(get(`http://127.0.0.1:${httpPort}${path}`), {
          timeoutMs: 5_000,
          maxResponseBytes: 100_000,
          rules: loopback,
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EgressResponseTooLargeError);
    }
  });

  it('a hostile server: a 200 KiB header ends with an error, not a crash', async () => {
    const err = await client()
      .send(get(`http://127.0.0.1:${httpPort}/huge-header`), { timeoutMs: 5_000, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressConnectError);
  });

  it('tells every outcome, for the metric', async () => {
    const outcomes: string[] = [];
    const c = client({ onOutcome: (o) => outcomes.push(o) });
    await c.send(get(`http://127.0.0.1:${httpPort}/`), { timeoutMs: 5_000, rules: loopback });
    await c.send(get('http://169.254.169.254/'), { timeoutMs: 5_000, rules: loopback }).catch(() => undefined);
    await expect.poll(() => outcomes).toEqual(['ok', 'refused']);
  });

  it('keeps at most maxPools pools, closing the least recently used', async () => {
    const c = client({ maxPools: 2 });
    for (const host of ['127.0.0.1', '127.0.0.2', '127.0.0.3'])
      await c.send(get(`http://${host}:${httpPort}/`), { timeoutMs: 5_000, rules: loopback }).catch(() => undefined);
    expect(c.stats().pools).toBe(2);
  });

  it('does not follow a redirect: the 3xx is the answer', async () => {
    const res = await client().send(get(`http://127.0.0.1:${httpPort}/redirect`), {
      timeoutMs: 5_000,
      rules: loopback,
    });
    expect(res.status).toBe(302);
    expect(hits).not.toContain('/elsewhere');
  });

  it('sends a body with its length, and drops connection-level headers', async () => {
    const res = await client().send(
      {
        url: `http://127.0.0.1:${httpPort}/echo`,
        method: 'POST',
        headers: [
          ['content-type', 'application/json'],
          ['connection', 'close'],
          ['transfer-encoding', 'chunked'],
          ['host', 'evil.test'],
        ],
        body: Buffer.from('{"a":1}'),
      },
      { timeoutMs: 5_000, rules: loopback },
    );
    expect(JSON.parse(res.body.toString())).toEqual({ body: '{"a":1}', type: 'application/json' });
  });

  it('refuses URLs that are not http(s), or carry credentials', async () => {
    const c = client();
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'https://user:pw@example.com/', 'not a url'])
      await expect(c.send(get(url), { timeoutMs: 1_000, rules: loopback })).rejects.toBeInstanceOf(
        EgressInvalidUrlError,
      );
  });
});

describe('target addresses (checked where the connection is made)', () => {
  it('refuses a name that resolves to the metadata service, without connecting', async () => {
    const c = client({ lookup: resolvesTo('169.254.169.254') as never });
    const err = await c
      .send(get('http://innocent.example.com/latest/meta-data/'), { timeoutMs: 5_000, rules: loopback })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressRefusedError);
    expect((err as Error).message).toContain('cloud metadata');
    expect(c.stats().connections).toBe(0); // the lookup refused it: no TCP connection was made
  });

  it('refuses metadata and link-local literals in every spelling, and metadata names', async () => {
    const c = client();
    for (const url of [
      'http://169.254.169.254/',
      'http://2852039166/',
      'http://0xa9fea9fe/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://0.0.0.0/',
      'http://metadata.google.internal/',
    ])
      await expect(c.send(get(url), { timeoutMs: 1_000, rules: loopback }), url).rejects.toBeInstanceOf(
        EgressRefusedError,
      );
  });

  it('refuses private and loopback addresses unless the DataPlane names their network', async () => {
    const c = client({ lookup: resolvesTo('127.0.0.1') as never });
    await expect(
      c.send(get(`http://127.0.0.1:${httpPort}/`), { timeoutMs: 5_000, rules: strict }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
    await expect(
      c.send(get(`http://internal.bank.test:${httpPort}/`), { timeoutMs: 5_000, rules: strict }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
    await expect(
      c.send(get(`http://10.1.2.3:${httpPort}/`), { timeoutMs: 5_000, rules: loopback }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
    const res = await c.send(get(`http://internal.bank.test:${httpPort}/`), { timeoutMs: 5_000, rules: loopback });
    expect(res.status).toBe(200);
  });

  it('of several answers, connects only to an allowed one (a rebinding answer is dropped)', async () => {
    const c = client({ lookup: resolvesTo('169.254.169.254', '127.0.0.1') as never });
    const res = await c.send(get(`http://mixed.test:${httpPort}/`), { timeoutMs: 5_000, rules: loopback });
    expect(res.status).toBe(200);
  });

  it('allows link-local targets when the DataPlane does (the lookup answer is used)', async () => {
    // 169.254.x cannot be reached here: allowed, it is dialled and fails to connect or times out, not refused.
    const c = client({ lookup: resolvesTo('169.254.0.1') as never });
    const err = await c
      .send(get('http://link-local.test/'), { timeoutMs: 300, connectTimeoutMs: 200, rules: linkLocalToo })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(EgressRefusedError);
  });

  it('a configured host (allowPrivateFor) may reach loopback; another host, or a literal, may not', async () => {
    const c = client({ lookup: resolvesTo('127.0.0.1') as never });
    const trusted = { timeoutMs: 5_000, rules: strict, allowPrivateFor: 'orders.shop.svc' };
    const res = await c.send(get(`http://orders.shop.svc:${httpPort}/`), trusted);
    expect(res.status).toBe(200);
    expect((await c.send(get(`http://ORDERS.shop.svc.:${httpPort}/`), trusted)).status).toBe(200);
    for (const url of [
      `http://evil.test:${httpPort}/`,
      `http://orders.shop.svc.evil.test:${httpPort}/`,
      `http://127.0.0.1:${httpPort}/`,
    ])
      await expect(c.send(get(url), trusted), url).rejects.toBeInstanceOf(EgressRefusedError);
    // The same origin without the allowance is refused: the trusted pool is not shared.
    await expect(
      c.send(get(`http://orders.shop.svc:${httpPort}/`), { timeoutMs: 5_000, rules: strict }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('the allowance never opens link-local or metadata addresses', async () => {
    const c = client({ lookup: resolvesTo('169.254.169.254') as never });
    const err = await c
      .send(get('http://orders.shop.svc/'), { timeoutMs: 5_000, rules: strict, allowPrivateFor: 'orders.shop.svc' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EgressRefusedError);
    expect(c.stats().connections).toBe(0);
    await expect(
      c.send(get('http://169.254.169.254/'), { timeoutMs: 1_000, rules: strict, allowPrivateFor: '169.254.169.254' }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
  });
});
