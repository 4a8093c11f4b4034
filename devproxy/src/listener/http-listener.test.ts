import { connect } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { send } from '../../../e2e/dev/harness.ts';
import { HttpListener } from './http-listener.ts';

/** A listener whose requests are in flight until the test releases them: `started` resolves when one is. */
function heldOk() {
  let started!: () => void;
  const inFlight = new Promise<void>((r) => (started = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const listener = new HttpListener(async (d) => {
    started();
    await released;
    return { status: 200, headers: [['x-path', d.request.path]], body: Buffer.from('done') };
  });
  return { listener, inFlight, release };
}

describe('HttpListener', () => {
  it('drains: an in-flight HTTP/1.1 request completes with connection: close, then close resolves', async () => {
    const { listener, inFlight, release } = heldOk();
    const port = await listener.listen('127.0.0.1', 0);
    const reply = send(`http://127.0.0.1:${port}/a`);
    await inFlight;
    const closed = listener.close();
    release();
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.body).toBe('done');
    expect(r.headers.connection).toBe('close');
    await closed;
  });

  it('drains an h2c session with GOAWAY after its streams finish', async () => {
    const { listener, inFlight, release } = heldOk();
    const port = await listener.listen('127.0.0.1', 0);
    const session = connect(`http://127.0.0.1:${port}`);
    const stream = session.request({ ':path': '/h2' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await inFlight;
    const closed = listener.close();
    release();
    await new Promise((r) => stream.on('end', r));
    expect(Buffer.concat(chunks).toString()).toBe('done');
    await closed;
    session.destroy();
  });
});
