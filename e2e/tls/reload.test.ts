// lib/tls reloading from a Secret volume laid out and updated as kubelet does (the `..data` symlink
// swap): new material is picked up without a restart; a bad update keeps the old material and is
// logged with the file and the reason, never the key; TLS policy parsing follows the CRD and Envoy.
import { once } from 'node:events';
import { createServer } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TlsKeyMismatchError, TlsMaterialError, TlsPolicyError } from '../../lib/tls/errors.ts';
import { validateMaterial } from '../../lib/tls/material.ts';
import { cipherString, parseTlsVersion, tlsPolicy } from '../../lib/tls/policy.ts';
import { TlsFileWatcher } from '../../lib/tls/watcher.ts';
import { waitFor } from '../dev/harness.ts';
import { probe } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';

let ca: TestCa;
let leaf: TestLeaf;
let renewed: TestLeaf;
let stranger: TestLeaf;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

beforeAll(async () => {
  ca = await createCa('Reload Test CA');
  leaf = await issueLeaf(ca, 'extproc', { dns: ['extproc'] });
  renewed = await issueLeaf(ca, 'extproc', { dns: ['extproc'] });
  stranger = await issueLeaf(ca, 'stranger');
});

function watched(volume: SecretVolume, o: { settleMs?: number } = {}) {
  const captured = captureLog();
  const watcher = new TlsFileWatcher({
    files: { certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), caFile: volume.path('ca.crt') },
    log: captured.log,
    purpose: 'test server',
    debounceMs: 20,
    pollMs: 0,
    settleMs: o.settleMs ?? 100,
  });
  cleanups.push(() => watcher.close());
  return { watcher, captured };
}

describe('TlsFileWatcher', () => {
  it('picks up a renewed certificate swapped in by kubelet, once, and announces it', async () => {
    const volume = new SecretVolume();
    cleanups.push(() => volume.remove());
    volume.write({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert });
    const { watcher, captured } = watched(volume);
    expect(watcher.start().leaf?.serialNumber).toBe(leaf.serial);
    const seen: string[] = [];
    watcher.onChange((m) => seen.push(m.leaf!.serialNumber));
    volume.write({ 'tls.crt': renewed.cert, 'tls.key': renewed.key, 'ca.crt': ca.cert });
    await waitFor(() => seen.length === 1, 'the renewal to be announced');
    expect(watcher.current()?.leaf?.serialNumber).toBe(renewed.serial);
    expect(seen).toEqual([renewed.serial]);
    // Rewriting the same content is not a change.
    volume.write({ 'tls.crt': renewed.cert, 'tls.key': renewed.key, 'ca.crt': ca.cert });
    await new Promise((r) => setTimeout(r, 150));
    expect(seen).toEqual([renewed.serial]);
    expect(captured.find((l) => l.msg === 'TLS material reloaded')).toMatchObject({
      certificate: { serial: renewed.serial, issuer: 'CN=Reload Test CA' },
    });
    expect(captured.text()).not.toContain('PRIVATE KEY');
  });

  it('keeps the previous material when the new files are bad, and logs the file and the reason', async () => {
    const volume = new SecretVolume();
    cleanups.push(() => volume.remove());
    volume.write({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert });
    const { watcher, captured } = watched(volume);
    watcher.start();
    // A key that belongs to another certificate.
    volume.write({ 'tls.crt': renewed.cert, 'tls.key': stranger.key, 'ca.crt': ca.cert });
    await waitFor(() => captured.lines.some((l) => l.level === 50), 'the bad update to be reported');
    expect(watcher.current()?.leaf?.serialNumber).toBe(leaf.serial);
    const error = captured.lines.find((l) => l.level === 50)!;
    expect(error).toMatchObject({
      purpose: 'test server',
      code: 'GH_ERR_TLS_KEY_MISMATCH',
      file: volume.path('tls.key'),
    });
    expect(String(error.reason)).toContain('the private key does not match the certificate (CN=extproc)');
    // Not PEM at all.
    volume.write({ 'tls.crt': 'not a certificate', 'tls.key': renewed.key, 'ca.crt': ca.cert });
    await waitFor(
      () => captured.lines.some((l) => l.code === 'GH_ERR_TLS_MATERIAL'),
      'the unreadable certificate to be reported',
    );
    expect(captured.lines.find((l) => l.code === 'GH_ERR_TLS_MATERIAL')).toMatchObject({
      file: volume.path('tls.crt'),
      reason: `${volume.path('tls.crt')}: no PEM certificate found`,
    });
    expect(watcher.current()?.leaf?.serialNumber).toBe(leaf.serial);
    // Fixed: picked up, and said so.
    volume.write({ 'tls.crt': renewed.cert, 'tls.key': renewed.key, 'ca.crt': ca.cert });
    await waitFor(() => watcher.current()?.leaf?.serialNumber === renewed.serial, 'the fixed files to load');
    expect(captured.find((l) => l.msg === 'TLS files are usable again')).toBeDefined();
    expect(captured.text()).not.toContain('PRIVATE KEY');
    expect(captured.text()).not.toContain(stranger.key.split('\n')[1]);
  });

  it('refuses to start on unusable files', () => {
    const volume = new SecretVolume();
    cleanups.push(() => volume.remove());
    volume.write({ 'tls.crt': leaf.cert, 'tls.key': stranger.key, 'ca.crt': ca.cert });
    const { watcher } = watched(volume);
    expect(() => watcher.start()).toThrow(TlsKeyMismatchError);
  });
});

describe('TLS material and policy', () => {
  it('checks pairs and bundles', () => {
    expect(
      validateMaterial({ cert: Buffer.from(leaf.cert), key: Buffer.from(leaf.key), ca: Buffer.from(ca.cert) }).leaf,
    ).toMatchObject({ subject: 'CN=extproc', issuer: 'CN=Reload Test CA', serialNumber: leaf.serial });
    expect(() => validateMaterial({ cert: Buffer.from(leaf.cert) })).toThrow(TlsMaterialError);
    expect(() => validateMaterial({ ca: Buffer.from('garbage') }, { ca: 'ca.crt' })).toThrow(
      /ca.crt: no PEM certificate found/,
    );
  });

  it('re-encodes a bundle concatenated without newlines, so that every CA in it is trusted', async () => {
    const second = await createCa('Second CA');
    const fromSecond = await issueLeaf(second, 'second', { ip: ['127.0.0.1'] });
    const glued = Buffer.from(ca.cert.trimEnd() + second.cert.trimEnd());
    const material = validateMaterial({ ca: glued });
    expect(material.authorities.map((a) => a.subject)).toEqual(['CN=Reload Test CA', 'CN=Second CA']);
    const server = createServer({ cert: fromSecond.cert, key: fromSecond.key }, (s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const { port } = server.address() as { port: number };
    expect(await probe('127.0.0.1', port, { ca: material.ca, rejectUnauthorized: true })).not.toHaveProperty('error');
    expect((await probe('127.0.0.1', port, { ca: glued, rejectUnauthorized: true })).error).toMatch(
      /unable to verify the first certificate/,
    );
  });

  it('reads versions as the CRD, Envoy and Node spell them, and keeps TLS 1.3 when suites restrict TLS 1.2', () => {
    expect(['TLSv1.2', 'TLSv1_2', '1.2', 'tlsv1.2'].map((v) => parseTlsVersion(v, 'x'))).toEqual([
      'TLSv1.2',
      'TLSv1.2',
      'TLSv1.2',
      'TLSv1.2',
    ]);
    expect(parseTlsVersion('TLSv1_0', 'x')).toBe('TLSv1');
    expect(() => parseTlsVersion('SSLv3', 'x')).toThrow(TlsPolicyError);
    expect(() => tlsPolicy({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' })).toThrow(
      /minimum version TLSv1.3 is above maximum version TLSv1.2/,
    );
    expect(() => tlsPolicy({ cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'NOT-A-SUITE'] })).toThrow(
      /unknown cipher suite NOT-A-SUITE/,
    );
    const policy = tlsPolicy({ cipherSuites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]'] });
    expect(policy.cipherSuites).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
    expect(cipherString(policy)).toMatch(
      /^TLS_AES_256_GCM_SHA384:.*:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305$/,
    );
    expect(cipherString(tlsPolicy({}))).toBeUndefined();
  });
});
