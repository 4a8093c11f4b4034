// The client's own wire handling against a local HTTP server speaking the apiserver's framing: cases
// a real apiserver will not produce on demand (a frame split mid-character, a frame that is not
// JSON, a stalled stream). Behaviour against the apiserver itself is in rest.int.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError, KubeConnectionError, KubeProtocolError } from './errors.ts';
import { KubeRest, isConflict, isGone, isNotFound, microTime, resourcePath, type WatchEvent } from './rest.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<KubeRest> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'local', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    { name: 'u', token: 'secret-token' },
  );
  return new KubeRest(kc, { timeoutMs: 2_000 });
}

describe('resourcePath', () => {
  it('builds core and group paths, namespaced or not, with subresources', () => {
    expect(resourcePath({ version: 'v1', resource: 'pods', namespace: 'ns', name: 'p', subresource: 'status' })).toBe(
      '/api/v1/namespaces/ns/pods/p/status',
    );
    expect(resourcePath({ version: 'v1', resource: 'nodes' })).toBe('/api/v1/nodes');
    expect(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies', namespace: 'shop' }),
    ).toBe('/apis/gatehouse.dev/v1alpha1/namespaces/shop/apiproxies');
    expect(microTime(new Date(0))).toBe('1970-01-01T00:00:00.000000Z');
  });
});

describe('KubeRest', () => {
  it('sends the token, JSON and the content type, and turns a Status into KubeApiError', async () => {
    const seen: { method?: string; url?: string; auth?: string; type?: string; body: string }[] = [];
    const rest = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          body,
        });
        if (req.url?.startsWith('/missing')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              status: 'Failure',
              reason: 'NotFound',
              code: 404,
              message: 'things "missing" not found',
            }),
          );
        } else if (req.method === 'PUT') {
          res.writeHead(409).end(
            JSON.stringify({
              kind: 'Status',
              reason: 'Conflict',
              code: 409,
              message: 'the object has been modified',
            }),
          );
        } else {
          res.writeHead(200).end(JSON.stringify({ ok: true }));
        }
      });
    });
    expect(await rest.apply('/x', { a: 1 }, { fieldManager: 'gatehouse', force: true })).toEqual({ ok: true });
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      url: '/x?fieldManager=gatehouse&force=true',
      auth: 'Bearer secret-token',
      type: 'application/apply-patch+yaml',
      body: '{"a":1}',
    });
    await rest.mergePatch('/x', { b: 2 });
    expect(seen[1]).toMatchObject({ method: 'PATCH', type: 'application/merge-patch+json' });
    const notFound = await rest.get('/missing').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(KubeApiError);
    expect(notFound).toMatchObject({ code: 'GH_ERR_KUBE_API', status: 404, reason: 'NotFound' });
    expect((notFound as Error).message).toBe('GET /missing: 404 NotFound: things "missing" not found');
    expect(isNotFound(notFound)).toBe(true);
    const conflict = await rest.replace('/x', {}).catch((e: unknown) => e);
    expect(isConflict(conflict)).toBe(true);
  });

  it('reports an unreachable apiserver and a silent one as KubeConnectionError', async () => {
    const rest = await serve(() => {}); // never answers
    const silent = await rest.get('/slow', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(KubeConnectionError);
    expect(silent).toMatchObject({ code: 'GH_ERR_KUBE_CONNECTION', timedOut: true });
    const kc = new k8s.KubeConfig();
    kc.loadFromClusterAndUser({ name: 'closed', server: 'http://127.0.0.1:1', skipTLSVerify: true }, { name: 'u' });
    const refused = await new KubeRest(kc).get('/x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KubeConnectionError);
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('reassembles watch frames split anywhere, even inside a character, and resolves when the stream ends', async () => {
    const frames = [
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' }, data: { text: 'grüße €' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } },
      { type: 'DELETED', object: { metadata: { name: 'a', resourceVersion: '3' } } },
    ];
    const bytes = Buffer.from(frames.map((f) => JSON.stringify(f) + '\n').join(''));
    let url = '';
    const rest = await serve((req, res) => {
      url = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      const cut = bytes.indexOf(Buffer.from('€')) + 1; // inside the 3-byte character
      res.write(bytes.subarray(0, cut));
      setTimeout(() => {
        res.write(bytes.subarray(cut, cut + 7));
        setTimeout(() => res.end(bytes.subarray(cut + 7)), 10);
      }, 10);
    });
    const events: WatchEvent[] = [];
    await rest.watch('/w', { resourceVersion: '0', labelSelector: 'a=b' }, (e) => events.push(e));
    expect(url).toBe('/w?resourceVersion=0&labelSelector=a%3Db&watch=true');
    expect(events).toEqual(frames);
  });

  it('fails a watch on an ERROR event, a frame that is not JSON, a stalled stream, and a refused watch', async () => {
    let mode = '';
    const rest = await serve((_req, res) => {
      if (mode === 'refused') {
        res
          .writeHead(403)
          .end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', code: 403, message: 'cannot watch' }));
        return;
      }
      res.writeHead(200);
      if (mode === 'gone')
        res.write(
          JSON.stringify({
            type: 'ERROR',
            object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' },
          }) + '\n',
        );
      if (mode === 'garbage') res.write('{"type":"ADDED","object":\n');
      // 'stall': headers, then nothing.
    });
    const watch = (m: string) => {
      mode = m;
      return rest
        .watch('/w', {}, () => {}, { idleTimeoutMs: 200 })
        .then(
          () => 'ended',
          (e: unknown) => e,
        );
    };
    const gone = await watch('gone');
    expect(isGone(gone)).toBe(true);
    expect((gone as Error).message).toContain('too old resource version');
    expect(await watch('garbage')).toBeInstanceOf(KubeProtocolError);
    expect(await watch('stall')).toMatchObject({ code: 'GH_ERR_KUBE_CONNECTION', timedOut: true });
    expect(await watch('refused')).toMatchObject({ status: 403, reason: 'Forbidden' });
  });

  it('stops a watch when its signal aborts', async () => {
    const rest = await serve((_req, res) => res.writeHead(200).write(''));
    const abort = new AbortController();
    const watching = rest.watch('/w', {}, () => {}, { signal: abort.signal }).catch((e: unknown) => e);
    setTimeout(() => abort.abort(), 20);
    expect(await watching).toBeInstanceOf(KubeConnectionError);
  });
});
