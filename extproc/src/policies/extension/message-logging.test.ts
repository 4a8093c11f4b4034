// MessageLogging with the real background senders (egress/message-log.ts) against syslog receivers
// started here: UDP, TCP and TLS (certificates issued here, e2e/tls/pki.ts, the CA and client
// certificate from Secrets in the snapshot), and an HTTP endpoint. Attacker cases: a receiver that
// stalls, resets or is down never makes the step wait (the step is synchronous: it returns before any
// byte is sent), a full queue drops and counts, private and metadata addresses are refused at connect
// time (after DNS), private.* variables and a literal key are refused in the config.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from '../../../../e2e/tls/pki.ts';
import { messageLogging, type MessageLoggingConfig } from '../../../../protos/policies/extension/message-logging.ts';
import { EgressClient } from '../../egress/client.ts';
import {
  MAX_UDP_BYTES,
  MessageLogSenders,
  octetCountingFrame,
  type MessageLogDropReason,
} from '../../egress/message-log.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { PolicyContext } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { cutUtf8, formatSyslog, messageLoggingPolicy, syslogHostname } from './message-logging.ts';

const meta = { namespace: 'shop', name: 'ML-1' };
const loopbackPlane = { dataPlanes: [{ namespace: 'shop', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }] };
const HOST = syslogHostname(hostname());

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Octet-counted frames (RFC 6587 3.4.1) out of a byte stream; a malformed frame fails the test. */
function frameReader(onMessage: (message: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const space = pending.indexOf(0x20);
      if (space < 0) return;
      const header = pending.subarray(0, space).toString('ascii');
      if (!/^[1-9][0-9]*$/.test(header)) throw new Error(`not an octet count: ${header}`);
      const length = Number(header);
      if (pending.length < space + 1 + length) return;
      onMessage(pending.subarray(space + 1, space + 1 + length).toString('utf8'));
      pending = pending.subarray(space + 1 + length);
    }
  };
}

interface Receiver {
  port: number;
  messages: string[];
  connections: number;
  peers: string[];
}

const closers: Array<() => void> = [];
const allSenders: MessageLogSenders[] = [];
afterAll(async () => {
  await Promise.all(allSenders.map((s) => s.close(100)));
  for (const close of closers) close();
});

async function listenOn(server: Server | HttpServer): Promise<number> {
  closers.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function udpReceiver(): Promise<Receiver> {
  const socket: UdpSocket = createSocket('udp4');
  const r: Receiver = { port: 0, messages: [], connections: 0, peers: [] };
  socket.on('message', (m) => r.messages.push(m.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => socket.close());
  r.port = socket.address().port;
  return r;
}

async function tcpReceiver(onSocket?: (socket: Socket, r: Receiver) => boolean): Promise<Receiver> {
  const r: Receiver = { port: 0, messages: [], connections: 0, peers: [] };
  const server = createNetServer((socket) => {
    r.connections += 1;
    socket.on('error', () => undefined);
    if (onSocket && !onSocket(socket, r)) return;
    socket.on(
      'data',
      frameReader((m) => r.messages.push(m)),
    );
  });
  r.port = await listenOn(server);
  return r;
}

let ca: TestCa;
let otherCa: TestCa;
let serverLeaf: TestLeaf;
let clientLeaf: TestLeaf;
beforeAll(async () => {
  ca = await createCa('syslog-ca');
  otherCa = await createCa('other-ca');
  serverLeaf = await issueLeaf(ca, 'syslog.test', { dns: ['localhost'], ip: ['127.0.0.1'] });
  clientLeaf = await issueLeaf(ca, 'gateway-logger');
});

async function tlsReceiver(): Promise<Receiver> {
  const r: Receiver = { port: 0, messages: [], connections: 0, peers: [] };
  const server = createTlsServer(
    { cert: serverLeaf.cert, key: serverLeaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
    (socket: TLSSocket) => {
      r.connections += 1;
      r.peers.push(String(socket.getPeerCertificate().subject?.CN ?? 'none'));
      socket.on('error', () => undefined);
      socket.on(
        'data',
        frameReader((m) => r.messages.push(m)),
      );
    },
  );
  server.on('tlsClientError', () => undefined);
  r.port = await listenOn(server);
  return r;
}

function senders(options: ConstructorParameters<typeof MessageLogSenders>[0] = {}) {
  const drops: MessageLogDropReason[] = [];
  const s = new MessageLogSenders({
    retries: 1,
    backoffMs: 10,
    connectTimeoutMs: 5_000,
    writeTimeoutMs: 2_000,
    onDrop: (reason) => drops.push(reason),
    ...options,
  });
  allSenders.push(s);
  return { s, drops };
}

function context(s: MessageLogSenders, opts: PolicyContextOptions = {}) {
  return makePolicyContext({
    path: '/orders?w=42',
    headers: { 'x-id': 'abc' },
    now: Date.parse('2026-01-01T00:00:00Z'),
    ...opts,
    messageLogs: s,
    snapshot: { ...loopbackPlane, ...opts.snapshot },
  });
}

/** The step, held to what MessageLogging promises: it returns nothing, at once (never a promise to wait on). */
function step(config: MessageLoggingConfig, m = meta): (ctx: PolicyContext) => undefined {
  const run = messageLoggingPolicy.create(config, m);
  return (ctx) => {
    const result = run(ctx);
    if (result !== undefined) throw new Error('a MessageLogging step must only enqueue');
    return undefined;
  };
}

describe('syslog framing', () => {
  it('RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG, facility user, severity from logLevel', () => {
    expect(formatSyslog('hello', { severity: 6, timestamp: '2026-01-01T00:00:00.000Z', hostname: 'pod-1' })).toBe(
      '<14>1 2026-01-01T00:00:00.000Z pod-1 gatehouse - - - hello',
    );
    expect(formatSyslog('x', { severity: 1, timestamp: 't', hostname: 'h' })).toMatch(/^<9>1 /);
    expect(formatSyslog('x', { severity: 7, timestamp: 't', hostname: 'h' })).toMatch(/^<15>1 /);
    // A timestamp with spaces (a DateFormat pattern) cannot split the header's fields.
    expect(formatSyslog('x', { severity: 6, timestamp: '2026 01 01', hostname: 'h' })).toBe(
      '<14>1 20260101 h gatehouse - - - x',
    );
  });

  it('HOSTNAME is printable ASCII without spaces, "-" when nothing is left', () => {
    expect(syslogHostname('pod 1\n')).toBe('pod1');
    expect(syslogHostname('ünï')).toBe('n');
    expect(syslogHostname(' ')).toBe('-');
    expect(syslogHostname('a'.repeat(300))).toHaveLength(255);
  });

  it('octet counting counts bytes, not characters', () => {
    expect(octetCountingFrame(Buffer.from('héllo')).toString('utf8')).toBe('6 héllo');
    expect(octetCountingFrame(Buffer.from('')).toString()).toBe('0 ');
  });

  it('cuts a message on a character boundary', () => {
    expect(cutUtf8('aé', 2).toString()).toBe('a');
    expect(cutUtf8('aé', 3).toString()).toBe('aé');
    expect(cutUtf8('€€', 4).toString()).toBe('€');
  });
});

describe('MessageLogging to syslog receivers', () => {
  it('UDP: one datagram holding exactly the templated message', async () => {
    const r = await udpReceiver();
    const { s } = senders();
    const result = step({
      syslog: { message: '{request.verb} {request.uri} id={request.header.x-id}', host: '127.0.0.1', port: r.port },
    })(context(s));
    expect(result).toBeUndefined();
    await until(() => r.messages.length === 1, 'the datagram');
    expect(r.messages).toEqual(['GET /orders?w=42 id=abc']);
  });

  it('UDP with formatMessage: an RFC 5424 message; dateFormat renders the timestamp', async () => {
    const r = await udpReceiver();
    const { s } = senders();
    step({
      syslog: { message: 'w={request.queryparam.w}', host: '127.0.0.1', port: r.port, formatMessage: true },
      logLevel: 'ERROR',
    })(context(s));
    step({
      syslog: {
        message: 'second',
        host: '127.0.0.1',
        port: r.port,
        formatMessage: true,
        dateFormat: "yyyy-MM-dd'T'HH:mm:ss",
      },
    })(context(s));
    await until(() => r.messages.length === 2, 'two datagrams');
    expect(r.messages.sort()).toEqual([
      `<11>1 2026-01-01T00:00:00.000Z ${HOST} gatehouse - - - w=42`,
      `<14>1 2026-01-01T00:00:00 ${HOST} gatehouse - - - second`,
    ]);
  });

  it('TCP: octet-counted frames on one connection, in order, multi-line and non-ASCII messages intact', async () => {
    const r = await tcpReceiver();
    const { s } = senders();
    const config: MessageLoggingConfig = {
      syslog: { message: 'line1\nline2 {request.header.x-id} ünï', host: '127.0.0.1', port: r.port, protocol: 'TCP' },
      logLevel: 'WARN',
    };
    for (let i = 0; i < 5; i++) step(config)(context(s));
    await until(() => r.messages.length === 5, 'five frames');
    expect(new Set(r.messages)).toEqual(new Set(['line1\nline2 abc ünï']));
    expect(r.connections).toBe(1);
  });

  it('TLS: the server checked against the CA from a Secret, the client certificate from another (mTLS)', async () => {
    const r = await tlsReceiver();
    const { s } = senders();
    const config: MessageLoggingConfig = {
      syslog: {
        message: 'over tls {request.verb}',
        host: 'localhost',
        port: r.port,
        protocol: 'TCP',
        formatMessage: true,
        sslInfo: {
          enabled: true,
          trustStore: { secretRef: { name: 'syslog-ca', key: 'ca.crt' } },
          clientAuthEnabled: true,
          keyStore: {
            certificate: { secretRef: { name: 'client-tls', key: 'tls.crt' } },
            key: { secretRef: { name: 'client-tls', key: 'tls.key' } },
          },
        },
      },
    };
    const policySecrets = {
      'shop/syslog-ca/ca.crt': ca.cert,
      'shop/client-tls/tls.crt': clientLeaf.cert,
      'shop/client-tls/tls.key': clientLeaf.key,
    };
    step(config)(
      context(s, {
        snapshot: { policySecrets },
        // localhost resolves where the test says: the receiver's loopback address.
      }),
    );
    await until(() => r.messages.length === 1, 'the TLS frame');
    expect(r.messages).toEqual([`<14>1 2026-01-01T00:00:00.000Z ${HOST} gatehouse - - - over tls GET`]);
    expect(r.peers).toEqual(['gateway-logger']);
  });

  it('TLS: a server signed by another CA gets nothing; the message is dropped as failed, the step did not wait', async () => {
    const r = await tlsReceiver();
    const { s, drops } = senders();
    const config: MessageLoggingConfig = {
      syslog: {
        message: 'secret-free',
        host: '127.0.0.1',
        port: r.port,
        protocol: 'TCP',
        sslInfo: { enabled: true, trustStore: { secretRef: { name: 'other-ca', key: 'ca.crt' } } },
      },
    };
    expect(step(config)(context(s, { snapshot: { policySecrets: { 'shop/other-ca/ca.crt': otherCa.cert } } }))).toBe(
      undefined,
    );
    await until(() => drops.length === 1, 'the drop');
    expect(drops).toEqual(['failed']);
    expect(r.messages).toEqual([]);
  });

  it("a failed TLS target's log line names the host and port, never the message, the key or the certificate", async () => {
    const r = await tlsReceiver();
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const { s, drops } = senders({ log });
    step({
      syslog: {
        message: 'card={request.header.x-card}',
        host: '127.0.0.1',
        port: r.port,
        protocol: 'TCP',
        sslInfo: {
          enabled: true,
          trustStore: { secretRef: { name: 'other-ca', key: 'ca.crt' } },
          clientAuthEnabled: true,
          keyStore: {
            certificate: { secretRef: { name: 'client-tls', key: 'tls.crt' } },
            key: { secretRef: { name: 'client-tls', key: 'tls.key' } },
          },
        },
      },
    })(
      context(s, {
        headers: { 'x-card': '4111111111111111' },
        snapshot: {
          policySecrets: {
            'shop/other-ca/ca.crt': otherCa.cert,
            'shop/client-tls/tls.crt': clientLeaf.cert,
            'shop/client-tls/tls.key': clientLeaf.key,
          },
        },
      }),
    );
    await until(() => drops.length === 1, 'the drop');
    const text = lines.join('');
    expect(text).toContain(`tls 127.0.0.1:${r.port}`);
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('BEGIN CERTIFICATE');
  });

  it('UDP: a message over 8 KiB is cut to one 8 KiB datagram', async () => {
    const r = await udpReceiver();
    const { s } = senders();
    step({ syslog: { message: `${'a'.repeat(10_000)}{request.verb}`, host: '127.0.0.1', port: r.port } })(context(s));
    await until(() => r.messages.length === 1, 'the datagram');
    expect(Buffer.byteLength(r.messages[0]!)).toBe(MAX_UDP_BYTES);
  });

  it('a TLS Secret missing from the snapshot (or of another namespace) is StepDefinitionExecutionFailed', () => {
    const { s } = senders();
    const config: MessageLoggingConfig = {
      syslog: {
        message: 'x',
        host: '127.0.0.1',
        protocol: 'TCP',
        sslInfo: { enabled: true, trustStore: { secretRef: { name: 'syslog-ca', key: 'ca.crt' } } },
      },
    };
    let fault: unknown;
    try {
      step(config)(context(s, { snapshot: { policySecrets: { 'other/syslog-ca/ca.crt': ca.cert } } }));
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(PolicyFault);
    expect((fault as PolicyFault).errorCode).toBe('steps.messagelogging.StepDefinitionExecutionFailed');
    expect((fault as PolicyFault).status).toBe(500);
    expect((fault as PolicyFault).message).toBe(
      'Execution of MessageLogging ML-1 failed. Reason: the trust store is not available',
    );
  });
});

describe('MessageLogging never delays a response', () => {
  it('a receiver that accepts and never reads: every step returns at once; the full queue drops and counts', async () => {
    const stalled: Socket[] = [];
    const r = await tcpReceiver((socket) => {
      socket.pause();
      stalled.push(socket);
      return false;
    });
    const { s, drops } = senders({ queueSize: 4, writeTimeoutMs: 60_000 });
    const big = 'x'.repeat(60_000);
    const config: MessageLoggingConfig = {
      syslog: { message: `${big}{request.header.x-id}`, host: '127.0.0.1', port: r.port, protocol: 'TCP' },
    };
    const ctx = context(s);
    const run = step(config);
    // Synchronous: a step returns no promise, so none can wait for the socket. Messages go on until the
    // receiver's socket buffers are full, the queue fills behind them and new ones are dropped.
    await until(
      () => {
        expect(run(ctx)).toBeUndefined();
        return drops.includes('queue-full');
      },
      'queue-full drops',
      60_000,
    );
    for (let i = 0; i < 50; i++) expect(run(ctx)).toBeUndefined();
    await until(() => r.connections === 1, 'the connection');
    expect(s.pending()).toBeLessThanOrEqual(5);
    // close() flushes for at most its deadline, then drops what is left.
    await s.close(50);
    expect(drops).toContain('shutdown');
    for (const socket of stalled) socket.destroy();
  });

  it('a receiver that resets the first connection: the sender reconnects and delivers', async () => {
    let first = true;
    const r = await tcpReceiver((socket) => {
      if (!first) return true;
      first = false;
      socket.resetAndDestroy();
      return false;
    });
    const { s, drops } = senders({ retries: 3 });
    step({ syslog: { message: 'after reset', host: '127.0.0.1', port: r.port, protocol: 'TCP' } })(context(s));
    await until(() => r.messages.length === 1 || drops.length > 0, 'the frame or a drop');
    expect(r.messages).toEqual(['after reset']);
    expect(r.connections).toBe(2);
  });

  it('a target that is down: retries, then the message is dropped as failed; the next one is tried again', async () => {
    const server = createNetServer();
    const port = await listenOn(server);
    server.close();
    const { s, drops } = senders({ retries: 2 });
    step({ syslog: { message: 'nobody', host: '127.0.0.1', port, protocol: 'TCP' } })(context(s));
    await until(() => drops.length === 1, 'the drop');
    expect(drops).toEqual(['failed']);
  });
});

describe('MessageLogging targets are outbound connections a tenant chose', () => {
  const resolvesTo =
    (...addresses: string[]) =>
    (_host: string, _options: unknown, callback: (err: null, a: LookupAddress[]) => void) =>
      callback(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );

  it('a private address outside calloutPrivateNetworks is refused, counted and never connected', async () => {
    const r = await tcpReceiver();
    const u = await udpReceiver();
    const { s, drops } = senders();
    const noPrivate = { dataPlanes: [{ namespace: 'shop', name: 'dp' }] };
    step({ syslog: { message: 'x', host: '127.0.0.1', port: r.port, protocol: 'TCP' } })(
      makePolicyContext({ messageLogs: s, snapshot: noPrivate }),
    );
    step({ syslog: { message: 'x', host: '127.0.0.1', port: u.port } })(
      makePolicyContext({ messageLogs: s, snapshot: noPrivate }),
    );
    await until(() => drops.length === 2, 'two drops');
    expect(drops).toEqual(['refused', 'refused']);
    expect(r.connections).toBe(0);
    expect(u.messages).toEqual([]);
  });

  it('a name that resolves to the metadata address is refused after DNS, over TCP, UDP and HTTP alike', async () => {
    const egress = new EgressClient({ lookup: resolvesTo('169.254.169.254') as never });
    const { s, drops } = senders({ lookup: resolvesTo('169.254.169.254') as never, egress });
    step({ syslog: { message: 'x', host: 'logs.example.com', port: 514, protocol: 'TCP' } })(context(s));
    step({ syslog: { message: 'x', host: 'logs.example.com', port: 514 } })(context(s));
    step({ http: { message: 'x', url: 'http://logs.example.com/ingest' } })(context(s));
    await until(() => drops.length === 3, 'three drops');
    expect(drops).toEqual(['refused', 'refused', 'refused']);
    egress.close();
  });

  it('a name resolving to a loopback address is allowed when the DataPlane lists the network', async () => {
    const r = await tcpReceiver();
    const { s } = senders({ lookup: resolvesTo('127.0.0.1') as never });
    step({ syslog: { message: 'named', host: 'syslog.internal', port: r.port, protocol: 'TCP' } })(context(s));
    await until(() => r.messages.length === 1, 'the frame');
    expect(r.messages).toEqual(['named']);
  });

  it('senders are per namespace: the same target of two tenants shares no queue', async () => {
    const r = await udpReceiver();
    const { s } = senders();
    const config: MessageLoggingConfig = { syslog: { message: '{request.verb}', host: '127.0.0.1', port: r.port } };
    step(config, { namespace: 'shop', name: 'a' })(context(s));
    step(config, { namespace: 'other', name: 'a' })(
      context(s, {
        snapshot: { dataPlanes: [{ namespace: 'other', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }] },
      }),
    );
    await until(() => r.messages.length === 2, 'two datagrams');
    expect(s.size()).toBe(2);
  });
});

describe('MessageLogging senders: bounds and shutdown', () => {
  it("one namespace's many targets evict its own senders first, never another tenant's", async () => {
    const receivers = await Promise.all([udpReceiver(), udpReceiver(), udpReceiver(), udpReceiver()]);
    const { s, drops } = senders({ maxSendersPerNamespace: 2, maxSenders: 3 });
    const other = { dataPlanes: [{ namespace: 'other', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }] };
    step(
      { syslog: { message: 'other', host: '127.0.0.1', port: receivers[0].port } },
      { namespace: 'other', name: 'a' },
    )(context(s, { snapshot: other }));
    for (const r of receivers.slice(1)) {
      step({ syslog: { message: 'mine', host: '127.0.0.1', port: r.port } })(context(s));
      await until(() => r.messages.length === 1 && s.pending() === 0, 'the datagram');
    }
    expect(receivers.map((r) => r.messages.length)).toEqual([1, 1, 1, 1]);
    expect(s.size()).toBe(3);
    // The other tenant's sender is still there: its next message needs no new sender.
    step(
      { syslog: { message: 'other', host: '127.0.0.1', port: receivers[0].port } },
      { namespace: 'other', name: 'a' },
    )(context(s, { snapshot: other }));
    await until(() => receivers[0].messages.length === 2, 'the second datagram');
    expect(s.size()).toBe(3);
    expect(drops).toEqual([]);
  });

  it('close() flushes what is queued to a live receiver before it resolves', async () => {
    const r = await tcpReceiver();
    const { s, drops } = senders();
    for (let i = 0; i < 20; i++)
      step({ syslog: { message: `m${i}`, host: '127.0.0.1', port: r.port, protocol: 'TCP' } })(context(s));
    await s.close(30_000);
    await until(() => r.messages.length === 20, 'twenty frames');
    expect(r.messages).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(drops).toEqual([]);
    step({ stdout: { message: 'late' } })(context(s));
    expect(drops).toEqual(['shutdown']);
  });
});

describe('MessageLogging to HTTP and stdout', () => {
  it('HTTP: one POST per message with the content type and a header from a Secret', async () => {
    const seen: Array<{ method: string; type: string; auth: string; body: string }> = [];
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          type: String(req.headers['content-type']),
          auth: String(req.headers.authorization),
          body,
        });
        res.end('ok');
      });
    });
    const port = await listenOn(server);
    const egress = new EgressClient();
    const { s } = senders({ egress });
    step({
      http: {
        message: '{"path":"{request.path}"}',
        url: `http://127.0.0.1:${port}/ingest`,
        contentType: 'application/json',
        headers: [{ name: 'Authorization', value: { secretRef: { name: 'hec', key: 'token' } } }],
      },
    })(context(s, { snapshot: { policySecrets: { 'shop/hec/token': 'Splunk t0ken' } } }));
    await until(() => seen.length === 1, 'the POST');
    expect(seen).toEqual([
      { method: 'POST', type: 'application/json', auth: 'Splunk t0ken', body: '{"path":"/orders"}' },
    ]);
    egress.close();
  });

  it('HTTP: a status outside 2xx is a failed attempt, retried, then dropped', async () => {
    let hits = 0;
    const server = createHttpServer((_req, res) => {
      hits += 1;
      res.statusCode = 503;
      res.end();
    });
    const port = await listenOn(server);
    const egress = new EgressClient();
    const { s, drops } = senders({ egress, retries: 2 });
    step({ http: { message: 'x', url: `http://127.0.0.1:${port}/` } })(context(s));
    await until(() => drops.length === 1, 'the drop');
    expect(drops).toEqual(['failed']);
    expect(hits).toBe(3);
    egress.close();
  });

  it('stdout: one line per message, newlines made spaces', async () => {
    const lines: string[] = [];
    const { s } = senders({ stdout: (line) => lines.push(line) });
    step({ stdout: { message: 'a\nb {request.verb}' } })(context(s));
    await until(() => lines.length === 1, 'the line');
    expect(lines).toEqual(['a b GET\n']);
  });
});

describe('MessageLogging config checks (the compiler runs the same)', () => {
  const problems = (config: unknown) => messageLogging.validate!(config);
  it('refuses private.* variables, an unchecked certificate, TLS over UDP, a metadata host, two targets, a literal key', () => {
    expect(problems({ stdout: { message: 'k={private.apikey}' } })).toEqual([
      {
        path: 'stdout.message',
        message:
          '{private.apikey} is a private variable: a log target is outside the gateway, private.* values are never logged',
      },
    ]);
    expect(
      problems({
        syslog: { message: 'x', host: 'h', protocol: 'TCP', sslInfo: { enabled: true, ignoreValidationErrors: true } },
      }),
    ).toEqual([expect.objectContaining({ path: 'syslog.sslInfo.ignoreValidationErrors' })]);
    expect(problems({ syslog: { message: 'x', host: 'h', sslInfo: { enabled: true } } })).toEqual([
      { path: 'syslog.protocol', message: 'syslog over TLS needs protocol TCP' },
    ]);
    expect(problems({ syslog: { message: 'x', host: '169.254.169.254' } })).toEqual([
      { path: 'syslog.host', message: '169.254.169.254 is a cloud metadata address' },
    ]);
    expect(problems({ syslog: { message: 'x', host: 'metadata.google.internal' } })).toEqual([
      { path: 'syslog.host', message: 'metadata.google.internal is a cloud metadata address' },
    ]);
    expect(problems({ stdout: { message: 'x' }, http: { message: 'x', url: 'http://a/' } })).toEqual([
      { path: '', message: 'exactly one of syslog, http and stdout' },
    ]);
    expect(
      problems({
        syslog: {
          message: 'x',
          host: 'h',
          protocol: 'TCP',
          sslInfo: { enabled: true, clientAuthEnabled: true, keyStore: { certificate: 'PEM', key: 'PEM' } },
        },
      }),
    ).toEqual([expect.objectContaining({ path: 'syslog.sslInfo.keyStore.key' })]);
    expect(problems({ http: { message: 'x', url: 'http://user:pw@logs/' } })).toEqual([
      expect.objectContaining({ path: 'http.url' }),
    ]);
    expect(problems({ syslog: { message: 'x', host: 'h', dateFormat: 'yyyy' } })).toEqual([
      { path: 'syslog.dateFormat', message: 'dateFormat applies with formatMessage: true only' },
    ]);
  });

  it('create() refuses a bad config with the policy named', () => {
    expect(() => step({ stdout: { message: '{private.x}' } })).toThrow(PolicyConfigError);
  });
});
