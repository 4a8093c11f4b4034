import { once } from 'node:events';
import { connect } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { describe, expect, it } from 'vitest';
import { send } from '../../../e2e/dev/harness.ts';
import type { HttpResponse } from '../http/message.ts';
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

describe('a client that goes away mid-body (Envoy: downstream reset, nothing sent upstream)', () => {
  it('a POST cut short after 10 of 100 bytes reaches no handler and takes nothing down', async () => {
    const paths: string[] = [];
    const listener = new HttpListener((d) => {
      paths.push(d.request.path);
      return Promise.resolve({ status: 200, headers: [], body: Buffer.from('ok') });
    });
    const port = await listener.listen('127.0.0.1', 0);
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let i = 0; i < 3; i++) {
        const socket = connectTcp(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.write('POST /cut HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\n0123456789');
        socket.destroy();
        await once(socket, 'close');
      }
      const r = await send(`http://127.0.0.1:${port}/after`);
      expect(r.status).toBe(200);
      expect(paths).toEqual(['/after']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await listener.close();
    }
  });
});

describe("the HTTP/1 codec's framing (ResponseEncoderImpl::encodeHeaders)", () => {
  const serve = (response: HttpResponse) => new HttpListener(() => Promise.resolve(response));
  const rawGet = async (port: number, method = 'GET') => {
    const socket = connectTcp(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end(`${method} /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    return Buffer.concat(chunks).toString();
  };

  it.each([
    [
      'keeps the content-length it is given',
      { headers: [['content-length', '4']], body: 'done' },
      /content-length: 4\r\n/i,
      /\r\n\r\ndone$/,
    ],
    [
      'chunks a body without one',
      { headers: [], body: 'done' },
      /transfer-encoding: chunked\r\n/i,
      /\r\n\r\n4\r\ndone\r\n0\r\n\r\n$/,
    ],
    [
      'sends content-length: 0 for an empty body without one',
      { headers: [], body: '' },
      /content-length: 0\r\n/i,
      /\r\n\r\n$/,
    ],
  ] as const)('%s', async (_name, r, head, tail) => {
    const listener = serve({
      status: 200,
      headers: [...r.headers] as HttpResponse['headers'],
      body: Buffer.from(r.body),
    });
    const port = await listener.listen('127.0.0.1', 0);
    try {
      const text = await rawGet(port);
      expect(text).toMatch(head);
      expect(text).toMatch(tail);
    } finally {
      await listener.close();
    }
  });

  it('a HEAD answer keeps the content-length of the body it does not send', async () => {
    const listener = serve({ status: 200, headers: [['content-length', '4']], body: Buffer.alloc(0) });
    const port = await listener.listen('127.0.0.1', 0);
    try {
      const text = await rawGet(port, 'HEAD');
      expect(text).toMatch(/content-length: 4\r\n/i);
      expect(text).toMatch(/\r\n\r\n$/);
    } finally {
      await listener.close();
    }
  });
});
