import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateMaterial, type TlsMaterial } from '../../../lib/tls/material.ts';
import type { MaterialSource } from '../../../lib/tls/watcher.ts';
import { createCa, issueCertificate, loadSigner } from '../certs/pki.ts';
import { silentLog } from '../xds/control-plane.test-support.ts';
import { AdmissionServer } from './server.ts';

const hour = 3_600_000;

async function material(): Promise<{ source: MaterialSource; caPem: string }> {
  const now = Date.now();
  const ca = await createCa({ commonName: 'test CA', notBefore: new Date(now - hour), notAfter: new Date(now + hour) });
  const leaf = await issueCertificate(loadSigner(ca.certPem, ca.keyPem), {
    commonName: 'gatehouse-webhook.gh.svc',
    dns: ['gatehouse-webhook.gh.svc'],
    ips: ['127.0.0.1'],
    uris: [],
    usages: ['serverAuth'],
    notBefore: new Date(now - hour),
    notAfter: new Date(now + hour),
  });
  const m: TlsMaterial = validateMaterial({ cert: Buffer.from(leaf.certPem), key: Buffer.from(leaf.keyPem) });
  return { source: { current: () => m, onChange: () => () => {} }, caPem: ca.certPem };
}

describe('admission webhook server', () => {
  let server: AdmissionServer;
  let port = 0;
  let caPem = '';

  beforeAll(async () => {
    const m = await material();
    caPem = m.caPem;
    server = new AdmissionServer({ source: m.source, log: silentLog });
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close());

  const send = (method: string, path: string, body?: string | Buffer) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method, path, ca: caPem, headers: { 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const reviewOf = (condition: string) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'abc',
        kind: { group: 'gatehouse.dev', version: 'v1alpha1', kind: 'ApiProxy' },
        namespace: 'shop',
        name: 'orders',
        operation: 'CREATE',
        object: {
          apiVersion: 'gatehouse.dev/v1alpha1',
          kind: 'ApiProxy',
          metadata: { name: 'orders', namespace: 'shop' },
          spec: {
            basePath: '/orders',
            target: { url: 'http://orders.shop.svc' },
            flows: { conditionalFlows: [{ name: 'f', condition, request: [] }] },
          },
        },
      },
    });

  it('answers a review over TLS verified by its CA, with the timeout query the apiserver adds', async () => {
    const refused = await send('POST', '/validate?timeout=5s', reviewOf('request.verb = '));
    expect(refused.status).toBe(200);
    const body = JSON.parse(refused.text) as { apiVersion: string; response: { uid: string; allowed: boolean } };
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(body.response).toMatchObject({ uid: 'abc', allowed: false });
    const allowed = JSON.parse((await send('POST', '/validate', reviewOf('true'))).text) as {
      response: { allowed: boolean };
    };
    expect(allowed.response.allowed).toBe(true);
  });

  it('answers hostile requests with a status code and keeps serving', async () => {
    expect((await send('POST', '/validate', '{not json')).status).toBe(400);
    expect((await send('POST', '/validate', '{"apiVersion":"admission.k8s.io/v1"}')).status).toBe(400);
    expect((await send('POST', '/validate', 'null')).status).toBe(400);
    expect((await send('GET', '/validate')).status).toBe(405);
    expect((await send('POST', '/other', reviewOf('true'))).status).toBe(404);
    const huge = await send('POST', '/validate', Buffer.alloc(9 * 1024 * 1024, 0x20)).catch(() => ({
      status: 413,
      text: '',
    }));
    expect(huge.status).toBe(413);
    expect((await send('POST', '/validate', reviewOf('true'))).status).toBe(200);
  });
});
