// SDS end to end: the operator serves a listener's Secret over ADS, devproxy (as Envoy) serves HTTPS
// with it. The listener warms until its Secret arrives. When the Secret changes (no new compiled
// version), new handshakes get the new certificate while an open HTTP/1.1 keep-alive connection
// carries on with the old one.
import { connect } from 'node:http2';
import { Agent } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileWithSecrets, httpsGet, probe, tlsSecretYaml, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { dataPlaneYaml, startTlsStack, type TlsStack } from './stack.ts';

let ca: TestCa;
let first: TestLeaf;
let stack: TlsStack;
const captured = captureLog('info');

beforeAll(async () => {
  ca = await createCa('Gatehouse Cluster CA');
  first = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'], ip: ['127.0.0.1'] });
  stack = await startTlsStack({ log: captured.log });
});

afterAll(async () => {
  await stack?.close();
});

const manifests = (
  leaf: TestLeaf,
) => `${dataPlaneYaml(['{name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}}}'], stack.echoPort)}---
${tlsSecretYaml('edge', 'gw-tls', { cert: leaf.cert, key: leaf.key })}`;
const extProcPort = () => Number(stack.extproc.address.split(':')[1]);

it('warms the listener until its Secret is served, then serves HTTPS with it', async () => {
  const { snapshot, secrets } = compileWithSecrets(manifests(first), extProcPort());
  // The snapshot first, without its secret: the listener is known but not bound (Envoy's warming).
  stack.extproc.apply(snapshot.runtime);
  stack.xds.publish(snapshot);
  await until(
    () => stack.xds.registry.get(stack.nodeId)?.types.SDS !== undefined,
    "devproxy to ask for the listener's secret",
  );
  await new Promise((r) => setTimeout(r, 200));
  expect(stack.devproxy.proxy.boundListeners().has('edge/gw/https')).toBe(false);
  await stack.publish(snapshot, secrets);
  await until(() => stack.devproxy.proxy.boundListeners().has('edge/gw/https'), 'the listener to bind');
  const reply = await httpsGet(stack.port('edge/gw/https'), '/api/x', { ca: ca.cert });
  expect(reply).toMatchObject({ status: 200, serial: first.serial });
});

it('speaks HTTP/2 over TLS to a client that offers h2 (ALPN)', async () => {
  const session = connect(`https://127.0.0.1:${stack.port('edge/gw/https')}`, { ca: ca.cert });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/api/h2' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect((session.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
  } finally {
    session.close();
  }
});

it('applies a changed Secret to new handshakes while an open keep-alive connection keeps working', async () => {
  const port = stack.port('edge/gw/https');
  const agent = new Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0, ca: ca.cert });
  try {
    const before = await httpsGet(port, '/api/one', { agent });
    expect(before).toMatchObject({ status: 200, serial: first.serial });

    const renewed = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'], ip: ['127.0.0.1'] });
    const { snapshot, secrets } = compileWithSecrets(manifests(renewed), extProcPort());
    expect(snapshot.version).toBe(stack.xds.cache.current()?.version);
    stack.xds.publishSecrets(secrets);
    await until(
      async () => (await probe('127.0.0.1', port, { ca: ca.cert, rejectUnauthorized: true })).serial === renewed.serial,
      'new handshakes to get the renewed certificate',
    );

    // The keep-alive connection opened before the change: same socket, old certificate, still serving.
    const again = await httpsGet(port, '/api/two', { agent });
    expect(again.socket).toBe(before.socket);
    expect(again).toMatchObject({ status: 200, serial: first.serial });
    // A new connection: the new certificate.
    expect(await httpsGet(port, '/api/three', { ca: ca.cert })).toMatchObject({ status: 200, serial: renewed.serial });

    expect(captured.find((l) => l.msg === 'SDS secret applied' && l.serial === renewed.serial)).toBeDefined();
    expect(captured.find((l) => l.msg === 'SDS secrets published')).toMatchObject({ changed: ['tls:edge/gw-tls'] });
    expect(captured.text()).not.toContain('PRIVATE KEY');
    expect(captured.text()).not.toContain(Buffer.from(renewed.key).toString('base64').slice(0, 40));
  } finally {
    agent.destroy();
  }
});

it('a Secret that turns bad is not served: the listener keeps its certificate', async () => {
  const port = stack.port('edge/gw/https');
  const current = (await probe('127.0.0.1', port, { ca: ca.cert })).serial;
  const stranger = await issueLeaf(ca, 'stranger');
  const bad = `${dataPlaneYaml(['{name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}}}'], stack.echoPort)}---
${tlsSecretYaml('edge', 'gw-tls', { cert: first.cert, key: stranger.key })}`;
  expect(() => compileWithSecrets(bad, extProcPort())).toThrow(
    /tls:edge\/gw-tls: Secret edge\/gw-tls tls.key: the private key does not match the certificate/,
  );
  stack.xds.publishSecrets(new Map());
  await new Promise((r) => setTimeout(r, 300));
  expect((await probe('127.0.0.1', port, { ca: ca.cert })).serial).toBe(current);
  expect((await httpsGet(port, '/api/x', { ca: ca.cert })).status).toBe(200);
});
