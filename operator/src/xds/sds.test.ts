// SDS over ADS: the Secrets the compiled listeners and clusters name, served by name only (never to
// a "*" subscription), pushed before the listeners and clusters that need them, renewed without a
// new compiled version, kept at their last good version when a Secret turns bad, and never in the
// snapshot JSON or /debug.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from '../../../e2e/tls/pki.ts';
import { compile } from '../compile/compile.ts';
import { decodeEnvoy } from './envoy-codec.ts';
import { parseManifests } from '../source/folder.ts';
import { XdsControlPlane } from './control-plane.ts';
import { typeUrls } from './protos.ts';
import { sdsSecretsFor, secretLookupFromObjects, type SdsProblem } from './sds.ts';
import { deltaClient, silentLog, sotwClient, until } from './control-plane.test-support.ts';

const node = { id: 'edge-1', cluster: 'edge/gw/envoy' };
let ca: TestCa;
let first: TestLeaf;
let renewed: TestLeaf;
let other: TestLeaf;

const b64 = (s: string) => Buffer.from(s).toString('base64');

function manifests(leaf: TestLeaf, key = leaf.key): string {
  return `
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: gw, namespace: edge}
spec:
  listeners:
    - {name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}, clientCertificate: Required}, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Secret
metadata: {name: gw-tls, namespace: edge}
type: kubernetes.io/tls
data: {tls.crt: ${b64(leaf.cert)}, tls.key: ${b64(key)}, ca.crt: ${b64(ca.cert)}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ledger, namespace: bank}
spec:
  basePath: /ledger
  target: {url: "https://ledger.bank.svc:8443", tls: {caSecretRef: {name: ledger-ca}}}
---
apiVersion: v1
kind: Secret
metadata: {name: ledger-ca, namespace: bank}
data: {ca.pem: ${b64(ca.cert)}}
`;
}

function build(yaml: string) {
  const { objects } = parseManifests(yaml, 'test.yaml');
  const snapshot = compile(objects, { credentialHashKey: 'k' }).snapshot;
  return { snapshot, lookup: secretLookupFromObjects(objects) };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(async () => {
  ca = await createCa('Gatehouse Test CA');
  first = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'] });
  renewed = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'] });
  other = await issueLeaf(ca, 'other', { dns: ['other'] });
});

async function controlPlane() {
  const cp = new XdsControlPlane({ log: silentLog });
  const { xdsPort, metricsPort } = await cp.listen({ host: '127.0.0.1', xdsPort: 0, metricsPort: 0 });
  cleanups.push(() => cp.stop());
  return { cp, address: `127.0.0.1:${xdsPort}`, metricsPort: metricsPort! };
}

const secretOf = (any: { value: Buffer }) =>
  decodeEnvoy('envoy.extensions.transport_sockets.tls.v3.Secret', any.value) as {
    name: string;
    tls_certificate?: { certificate_chain: { inline_bytes: string } };
    validation_context?: { trusted_ca: { inline_bytes: string } };
  };
const pem = (b64bytes: string) => Buffer.from(b64bytes, 'base64').toString().trimEnd();

describe('sdsSecretsFor', () => {
  it('names the Secrets the listeners and clusters ask ADS for, and builds them from the Secret data', () => {
    const { snapshot, lookup } = build(manifests(first));
    expect(snapshot.secretRefs).toEqual([
      { name: 'ca:bank/ledger-ca', namespace: 'bank', secret: 'ledger-ca', holds: 'ca' },
      { name: 'ca:edge/gw-tls', namespace: 'edge', secret: 'gw-tls', holds: 'ca' },
      { name: 'tls:edge/gw-tls', namespace: 'edge', secret: 'gw-tls', holds: 'certificate' },
    ]);
    const problems: SdsProblem[] = [];
    const secrets = sdsSecretsFor(snapshot, lookup, (p) => problems.push(p));
    expect([...secrets.keys()]).toEqual(['ca:edge/gw-tls', 'tls:edge/gw-tls']);
    expect(secrets.get('tls:edge/gw-tls')).toMatchObject({
      tls_certificate: { certificate_chain: { inline_bytes: b64(`${first.cert}\n`) } },
    });
    expect(problems).toEqual([
      { resource: 'ca:bank/ledger-ca', secret: 'bank/ledger-ca', reason: 'the Secret has no ca.crt' },
    ]);
  });

  it("leaves out a Secret whose key is not its certificate's, naming it without its content", () => {
    const { snapshot, lookup } = build(manifests(first, other.key));
    const problems: SdsProblem[] = [];
    expect(sdsSecretsFor(snapshot, lookup, (p) => problems.push(p)).has('tls:edge/gw-tls')).toBe(false);
    const problem = problems.find((p) => p.resource === 'tls:edge/gw-tls')!;
    expect(problem.reason).toMatch(
      /Secret edge\/gw-tls tls.key: the private key does not match the certificate \(CN=gw.edge.svc\)/,
    );
    expect(JSON.stringify(problems)).not.toContain('PRIVATE KEY');
  });
});

describe('SDS over ADS', () => {
  it('serves secrets by name only, never in the snapshot or /debug', async () => {
    const { cp, address, metricsPort } = await controlPlane();
    const { snapshot, lookup } = build(manifests(first));
    cp.publish(snapshot, sdsSecretsFor(snapshot, lookup));
    const client = sotwClient(address);
    cleanups.push(() => client.close());
    client.send({ node, typeUrl: typeUrls.secret, resourceNames: ['*'] });
    expect((await client.next()).resources).toEqual([]);
    client.send({ typeUrl: typeUrls.secret, resourceNames: ['tls:edge/gw-tls', 'ca:edge/gw-tls'] });
    const res = await client.next();
    const secrets = res.resources.map(secretOf);
    expect(secrets.map((s) => s.name)).toEqual(['ca:edge/gw-tls', 'tls:edge/gw-tls']);
    expect(pem(secrets[1]!.tls_certificate!.certificate_chain.inline_bytes)).toBe(first.cert);
    expect(pem(secrets[0]!.validation_context!.trusted_ca.inline_bytes)).toBe(ca.cert);
    client.send({
      typeUrl: typeUrls.secret,
      resourceNames: ['tls:edge/gw-tls', 'ca:edge/gw-tls'],
      versionInfo: res.versionInfo,
      responseNonce: res.nonce,
    });
    await until(() => cp.registry.get(node.id)?.types.SDS?.ackedVersion === snapshot.version);

    const keyBody = first.key.split('\n')[1]!;
    expect(JSON.stringify(snapshot)).not.toContain(keyBody);
    expect(JSON.stringify(snapshot)).not.toContain(b64(first.key).slice(0, 40));
    const debug = await (await fetch(`http://127.0.0.1:${metricsPort}/debug/nodes`)).text();
    expect(debug).toContain('"SDS"');
    expect(debug).not.toContain(keyBody);
    expect(debug).not.toContain(b64(first.key).slice(0, 40));
  });

  it('pushes secrets before the clusters and listeners of a new snapshot, and renews them without a new compiled version', async () => {
    const { cp, address } = await controlPlane();
    const v1 = build(manifests(first));
    cp.publish(v1.snapshot, sdsSecretsFor(v1.snapshot, v1.lookup));
    const client = sotwClient(address);
    cleanups.push(() => client.close());
    const acked = new Map<string, string>();
    const subscribe = async (req: { typeUrl: string; resourceNames?: string[] }, withNode = false) => {
      client.send({ ...req, ...(withNode ? { node } : {}) });
      const res = await client.next();
      client.send({ ...req, versionInfo: res.versionInfo, responseNonce: res.nonce });
      acked.set(req.typeUrl, res.versionInfo);
    };
    const sdsNames = ['ca:edge/gw-tls', 'tls:edge/gw-tls'];
    await subscribe({ typeUrl: typeUrls.cluster }, true);
    await subscribe({ typeUrl: typeUrls.listener });
    await subscribe({ typeUrl: typeUrls.route, resourceNames: ['edge/gw/https'] });
    await subscribe({ typeUrl: typeUrls.secret, resourceNames: sdsNames });
    await until(() => cp.registry.get(node.id)?.syncedVersion === v1.snapshot.version);

    // A new snapshot (the listener now asks for client certificates optionally) and a renewed certificate: SDS goes first.
    const v2 = build(manifests(renewed).replace('clientCertificate: Required', 'clientCertificate: Optional'));
    cp.publish(v2.snapshot, sdsSecretsFor(v2.snapshot, v2.lookup));
    const order: string[] = [];
    for (;;) {
      const res = await client.next(300).catch(() => undefined);
      if (!res) break;
      order.push(res.typeUrl);
      const names =
        res.typeUrl === typeUrls.secret ? sdsNames : res.typeUrl === typeUrls.route ? ['edge/gw/https'] : [];
      client.send({
        typeUrl: res.typeUrl,
        resourceNames: names,
        versionInfo: res.versionInfo,
        responseNonce: res.nonce,
      });
    }
    expect(order[0]).toBe(typeUrls.secret);
    expect(order).toContain(typeUrls.listener);

    // Renewal alone: same compiled version, new SDS version_info and content; the node stays synced.
    await until(() => cp.registry.get(node.id)?.syncedVersion === v2.snapshot.version);
    const third = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'] });
    const v3 = build(manifests(third).replace('clientCertificate: Required', 'clientCertificate: Optional'));
    expect(v3.snapshot.version).toBe(v2.snapshot.version);
    cp.publishSecrets(sdsSecretsFor(v3.snapshot, v3.lookup));
    const res = await client.next();
    expect(res.typeUrl).toBe(typeUrls.secret);
    expect(res.versionInfo).not.toBe(acked.get(typeUrls.secret));
    expect(
      pem(
        res.resources.map(secretOf).find((s) => s.name === 'tls:edge/gw-tls')!.tls_certificate!.certificate_chain
          .inline_bytes,
      ),
    ).toBe(third.cert);
    client.send({
      typeUrl: typeUrls.secret,
      resourceNames: sdsNames,
      versionInfo: res.versionInfo,
      responseNonce: res.nonce,
    });

    // A Secret that turns bad is left out; the last good one keeps serving, nothing is pushed.
    const bad = build(
      manifests(third, other.key).replace('clientCertificate: Required', 'clientCertificate: Optional'),
    );
    cp.publishSecrets(sdsSecretsFor(bad.snapshot, bad.lookup));
    expect(await client.quiet(300)).toBe(true);

    // A node reconnecting with an old SDS version gets the current secrets.
    const again = sotwClient(address);
    cleanups.push(() => again.close());
    again.send({
      node: { id: 'edge-2', cluster: node.cluster },
      typeUrl: typeUrls.secret,
      resourceNames: sdsNames,
      versionInfo: acked.get(typeUrls.secret)!,
    });
    const fresh = await again.next();
    expect(
      pem(
        fresh.resources.map(secretOf).find((s) => s.name === 'tls:edge/gw-tls')!.tls_certificate!.certificate_chain
          .inline_bytes,
      ),
    ).toBe(third.cert);
  });

  it('serves secrets by name over delta xDS; "*" gets none', async () => {
    const { cp, address } = await controlPlane();
    const { snapshot, lookup } = build(manifests(first));
    cp.publish(snapshot, sdsSecretsFor(snapshot, lookup));
    const client = deltaClient(address);
    cleanups.push(() => client.close());
    client.send({ node, typeUrl: typeUrls.secret, resourceNamesSubscribe: ['*'] });
    expect(await client.quiet(300)).toBe(true);
    client.send({ typeUrl: typeUrls.secret, resourceNamesSubscribe: ['tls:edge/gw-tls'] });
    const res = await client.next();
    expect(res.resources.map((r) => r.name)).toEqual(['tls:edge/gw-tls']);
    expect(pem(secretOf(res.resources[0]!.resource!).tls_certificate!.certificate_chain.inline_bytes)).toBe(first.cert);
    expect(res.resources[0]!.version).toMatch(/^[0-9a-f]{16}$/);
  });
});
