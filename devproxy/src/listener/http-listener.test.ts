import { connect } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { send } from '../../../e2e/dev/harness.ts';
import { HttpListener } from './http-listener.ts';

const slowOk = () =>
  new HttpListener(async (d) => {
    await new Promise((r) => setTimeout(r, 200));
    return { status: 200, headers: [['x-path', d.request.path]], body: Buffer.from('done') };
  });

describe('HttpListener', () => {
  it('drains: an in-flight HTTP/1.1 request completes with connection: close, then close resolves', async () => {
    const listener = slowOk();
    const port = await listener.listen('127.0.0.1', 0);
    const inflight = send(`http://127.0.0.1:${port}/a`);
    await new Promise((r) => setTimeout(r, 50));
    const closed = listener.close();
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('done');
    expect(r.headers.connection).toBe('close');
    await closed;
  });

  it('drains an h2c session with GOAWAY after its streams finish', async () => {
    const listener = slowOk();
    const port = await listener.listen('127.0.0.1', 0);
    const session = connect(`http://127.0.0.1:${port}`);
    const stream = session.request({ ':path': '/h2' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => setTimeout(r, 50));
    const closed = listener.close();
    await new Promise((r) => stream.on('end', r));
    expect(Buffer.concat(chunks).toString()).toBe('done');
    await closed;
    session.destroy();
  });
});
