// `npm run bench:jwt`: CPU per request of VerifyJWT (ES256 and RS256 with a PEM key from a Secret,
// ES256 with a JWKS URL already cached by the key service) against VerifyAPIKey, in the same run. Each
// case runs the policy step on a fresh PolicyContext built as extproc builds one per stream
// for a bounded time on this thread and reports process CPU (user + system) per request, and its ratio
// to VerifyAPIKey's. The policy work is measured, not gRPC (bench:extproc measures the stream).
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK } from 'jose';
import { pino } from 'pino';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import type { PolicyStep, RemoteKeySets } from '../extproc/src/flow/types.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { RemoteKeySetCache } from '../extproc/src/keys/remote-key-sets.ts';
import { verifyApiKeyPolicy } from '../extproc/src/policies/security/verify-api-key.ts';
import { verifyJwtPolicy } from '../extproc/src/policies/security/verify-jwt.ts';
import { createCa, createServingCert } from '../e2e/env/pki.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const HASH_KEY = '00112233445566778899aabbccddeeff';
const API_KEY = 'bench-key-123';
const pem = (key: KeyObject, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyHash = createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(API_KEY).digest('hex');
const proxy = { namespace: 'bench', name: 'orders', route: 'bench/orders', basePath: '/orders' };
const snapshot = {
  credentialHashKey: HASH_KEY,
  products: [{ namespace: 'bench', name: 'basic', proxies: ['orders'], resources: ['/**'], approval: 'Auto' }],
  apps: [
    {
      namespace: 'bench',
      name: 'app',
      status: 'Approved',
      products: [{ name: 'basic', status: 'Approved' }],
      credentials: [{ keyHash, status: 'Approved' }],
    },
  ],
  policySecrets: { 'bench/jwt/ec.pub': pem(ec.publicKey, 'spki'), 'bench/jwt/rsa.pub': pem(rsa.publicKey, 'spki') },
};

async function token(alg: 'ES256' | 'RS256', key: KeyObject, kid: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: 'https://issuer.test', sub: 'alice', aud: 'orders', iat, exp: iat + 3600, scope: 'read' };
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
}

interface Case {
  name: string;
  step: PolicyStep;
  headers: Record<string, string>;
  keys?: RemoteKeySets;
}

// What extproc holds across requests: the decoded snapshot, its index, the stores.
const decoded = decodeRuntimeSnapshot({ version: 'bench', ...snapshot, proxies: [proxy] });
const runtime = new SnapshotRuntimeIndex(decoded);
const stores = createMemoryStores();
const log = pino({ level: 'silent' });

/** A request's PolicyContext as extproc builds it per stream: a message, an exchange, its variables. */
function contextFor(c: Case) {
  const request = createRequestMessage({
    method: 'GET',
    path: '/orders/items',
    scheme: 'https',
    authority: 'api.test',
    headers: c.headers,
    body: undefined,
  });
  const exchange = new Exchange({
    request,
    proxy: decoded.proxies[0]!,
    runtime,
    stores,
    ...(c.keys ? { keys: c.keys } : {}),
    log,
    now: Date.now,
    environmentName: 'bench',
    messageId: 'bench',
    client: { ip: '127.0.0.1', cn: '' },
  });
  return exchange.context('request');
}

async function measure(c: Case): Promise<{ name: string; requests: number; cpuUsPerRequest: number }> {
  const once = async () => {
    await c.step(contextFor(c));
  };
  for (let i = 0; i < 200; i++) await once(); // warm up: JIT, key imports, the JWKS fetch
  const cpu = process.cpuUsage();
  const deadline = Date.now() + DURATION_MS;
  let requests = 0;
  while (Date.now() < deadline) {
    for (let i = 0; i < 50; i++) await once();
    requests += 50;
  }
  const used = process.cpuUsage(cpu);
  return { name: c.name, requests, cpuUsPerRequest: (used.user + used.system) / requests };
}

async function main(): Promise<void> {
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' }] });
  const ca = await createCa('bench-jwks-ca');
  const leaf = await createServingCert(ca, '127.0.0.1', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const jwksServer = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
    res.setHeader('cache-control', 'max-age=3600');
    res.end(jwks);
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUri = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  const keys = new RemoteKeySetCache({ ca: ca.cert });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const meta = { namespace: 'bench', name: 'verify' };
  const verifyOptions = { issuer: 'https://issuer.test', audience: 'orders' };
  const cases: Case[] = [
    {
      name: 'VerifyAPIKey',
      step: verifyApiKeyPolicy.create({ apiKey: { ref: 'request.header.x-api-key' } }, meta),
      headers: { 'x-api-key': API_KEY },
    },
    {
      name: 'VerifyJWT ES256 (PEM from a Secret)',
      step: verifyJwtPolicy.create(
        {
          algorithms: ['ES256'],
          publicKey: { value: { secretRef: { name: 'jwt', key: 'ec.pub' } } },
          ...verifyOptions,
        },
        meta,
      ),
      headers: bearer(await token('ES256', ec.privateKey, 'ec-1')),
    },
    {
      name: 'VerifyJWT RS256 (PEM from a Secret)',
      step: verifyJwtPolicy.create(
        {
          algorithms: ['RS256'],
          publicKey: { value: { secretRef: { name: 'jwt', key: 'rsa.pub' } } },
          ...verifyOptions,
        },
        meta,
      ),
      headers: bearer(await token('RS256', rsa.privateKey, 'rsa-1')),
    },
    {
      name: 'VerifyJWT ES256 (JWKS URL, cached)',
      step: verifyJwtPolicy.create({ algorithms: ['ES256'], publicKey: { jwksUri }, ...verifyOptions }, meta),
      headers: bearer(await token('ES256', ec.privateKey, 'ec-1')),
      keys,
    },
  ];
  const results = [];
  for (const c of cases) results.push(await measure(c));
  jwksServer.close();
  const baseline = results[0]!.cpuUsPerRequest;
  console.log(`CPU per request, ${DURATION_MS} ms per case, one thread (BENCH_DURATION_MS to change):`);
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(40)} ${r.cpuUsPerRequest.toFixed(1).padStart(8)} µs   x${(r.cpuUsPerRequest / baseline).toFixed(2)} of VerifyAPIKey   (${r.requests} requests)`,
    );
}

await main();
