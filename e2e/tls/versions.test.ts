// The TLS-version incident ("ingress gateway supports TLS 1.2 only"): what a listener accepts is what
// its DataPlane says, and our own servers follow --tls-min-version / --tls-max-version. A TLS 1.2-only
// listener refuses a TLS 1.3-only client and serves a TLS 1.2 one; a TLS 1.3-only listener the
// reverse; every refusal is logged with the versions this side accepts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSnapshot } from '../traffic/extproc-process.ts';
import { compileWithSecrets, httpsGet, probe, tlsSecretYaml, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { startExtprocProcess, type GatehouseProcess } from './process.ts';
import { SecretVolume } from './secret-volume.ts';
import { dataPlaneYaml, startTlsStack, type TlsStack } from './stack.ts';

let ca: TestCa;
let leaf: TestLeaf;

beforeAll(async () => {
  ca = await createCa('Gatehouse Cluster CA');
  leaf = await issueLeaf(ca, 'gw.edge.svc', { dns: ['gw.edge.svc'], ip: ['127.0.0.1'] });
});

const tls12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
const tls13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

describe('devproxy listeners from a compiled DataPlane', () => {
  let stack: TlsStack;
  const captured = captureLog('info');

  /** Listeners `legacy` (8443, its versions and ciphers in `legacyTls`) and `modern` (9443, TLS 1.3 only), both serving gw-tls. */
  async function publishListeners(legacyTls: string): Promise<void> {
    const yaml = `${dataPlaneYaml(
      [
        `{name: legacy, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}, ${legacyTls}}}`,
        '{name: modern, port: 9443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}, minVersion: TLSv1.3, maxVersion: TLSv1.3}}',
      ],
      stack.echoPort,
    )}---\n${tlsSecretYaml('edge', 'gw-tls', { cert: leaf.cert, key: leaf.key })}`;
    const { snapshot, secrets } = compileWithSecrets(yaml, Number(stack.extproc.address.split(':')[1]));
    await stack.publish(snapshot, secrets);
  }

  beforeAll(async () => {
    stack = await startTlsStack({ log: captured.log });
    await publishListeners('minVersion: TLSv1.2, maxVersion: TLSv1.2, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('a TLS 1.2-only listener serves TLS 1.2 (with its cipher suite) and refuses a TLS 1.3-only client', async () => {
    const port = stack.port('edge/gw/legacy');
    const ok = await httpsGet(port, '/api/x', { ...tls12, ca: ca.cert });
    expect(ok).toMatchObject({ status: 200, protocol: 'TLSv1.2', serial: leaf.serial });
    expect(ok.socket.getCipher().standardName).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    await expect(httpsGet(port, '/api/x', { ...tls13, ca: ca.cert })).rejects.toThrow(
      /protocol version|unsupported protocol|alert/i,
    );
    await until(() => stack.refused.some((r) => r.where === 'edge/gw/legacy'), 'the refusal to be recorded');
    const refusal = stack.refused.find((r) => r.where === 'edge/gw/legacy')!.err;
    expect(refusal.code).toBe('GH_ERR_TLS_HANDSHAKE');
    expect(refusal.message).toContain('no common TLS version (this side accepts TLSv1.2 to TLSv1.2)');
    expect(
      captured.find((l) => l.purpose === 'listener edge/gw/legacy' && l.code === 'GH_ERR_TLS_HANDSHAKE'),
    ).toBeDefined();
  });

  it('a TLS 1.3-only listener serves TLS 1.3 and refuses a TLS 1.2-only client', async () => {
    const port = stack.port('edge/gw/modern');
    expect(await httpsGet(port, '/api/x', { ...tls13, ca: ca.cert })).toMatchObject({
      status: 200,
      protocol: 'TLSv1.3',
    });
    await expect(httpsGet(port, '/api/x', { ...tls12, ca: ca.cert })).rejects.toThrow(
      /protocol version|unsupported protocol|alert/i,
    );
    await until(() => stack.refused.some((r) => r.where === 'edge/gw/modern'), 'the refusal to be recorded');
    expect(stack.refused.find((r) => r.where === 'edge/gw/modern')!.err.message).toContain(
      'this side accepts TLSv1.3 to TLSv1.3',
    );
  });

  it('a listener updated to other versions applies them to new handshakes without rebinding', async () => {
    const port = stack.port('edge/gw/legacy');
    await publishListeners('minVersion: TLSv1.3, maxVersion: TLSv1.3');
    expect(stack.port('edge/gw/legacy')).toBe(port);
    expect(await httpsGet(port, '/api/x', { ...tls13, ca: ca.cert })).toMatchObject({
      status: 200,
      protocol: 'TLSv1.3',
    });
    await expect(httpsGet(port, '/api/x', { ...tls12, ca: ca.cert })).rejects.toThrow();
  });
});

describe('gatehouse extproc --tls-min-version / --tls-max-version', () => {
  let dir: string;
  let volume: SecretVolume;
  let snapshot: string;
  const running: GatehouseProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-versions-'));
    snapshot = compileSnapshot(
      dir,
      `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: api, namespace: tls}
spec: {basePath: /api, target: {url: "http://127.0.0.1:9"}}
`,
    );
    volume = new SecretVolume();
    volume.write({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert });
  });

  afterAll(async () => {
    for (const p of running) await p.stop();
    volume?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function extprocWith(args: string[]): Promise<number> {
    const proc = await startExtprocProcess([
      '--snapshot',
      snapshot,
      '--tls-cert',
      volume.path('tls.crt'),
      '--tls-key',
      volume.path('tls.key'),
      ...args,
    ]);
    running.push(proc);
    return proc.port;
  }

  it('TLSv1.3 minimum: refuses a TLS 1.2 client, serves TLS 1.3', async () => {
    const port = await extprocWith(['--tls-min-version', 'TLSv1.3']);
    expect(await probe('127.0.0.1', port, { ...tls13, ca: ca.cert, rejectUnauthorized: true })).toMatchObject({
      protocol: 'TLSv1.3',
      serial: leaf.serial,
    });
    expect((await probe('127.0.0.1', port, { ...tls12, ca: ca.cert })).error).toMatch(/protocol version|alert/i);
  });

  it('the default (TLSv1.2 to TLSv1.3) serves both; TLSv1.2 maximum refuses a TLS 1.3-only client', async () => {
    const both = await extprocWith([]);
    expect(await probe('127.0.0.1', both, { ...tls12, ca: ca.cert, rejectUnauthorized: true })).toMatchObject({
      protocol: 'TLSv1.2',
    });
    expect(await probe('127.0.0.1', both, { ...tls13, ca: ca.cert, rejectUnauthorized: true })).toMatchObject({
      protocol: 'TLSv1.3',
    });
    const old = await extprocWith(['--tls-max-version', 'TLSv1.2']);
    expect(await probe('127.0.0.1', old, { ...tls12, ca: ca.cert, rejectUnauthorized: true })).toMatchObject({
      protocol: 'TLSv1.2',
    });
    expect((await probe('127.0.0.1', old, { ...tls13, ca: ca.cert })).error).toMatch(
      /protocol version|unsupported protocol|alert/i,
    );
  });
});
