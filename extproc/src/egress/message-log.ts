// MessageLogging's senders (docs/policies.md#messagelogging, docs/operations.md#message-logging): the
// policy only enqueues; one sender per namespace and target drains a bounded queue in the background,
// so a log target that is down, slow or hostile never delays a response. Syslog goes over UDP (one
// datagram per message, at most MAX_UDP_BYTES), TCP or TLS (RFC 6587 3.4.1 octet counting: "LEN SP
// MSG"); HTTP targets go through the egress client; stdout writes one line per message.
//
// A target is chosen by a tenant, so it is an outbound connection like a callout: the DataPlane's
// address rules (spec.upstream.allowLinkLocalTargets, calloutPrivateNetworks) are applied to the
// addresses the host name resolves to, before connecting, and again to the address the socket
// reached. A refused target drops its messages (counted, reason "refused") and is never retried.
//
// Delivery is at most once: a message is retried (reconnecting, with backoff) up to `retries` times,
// then dropped and counted (reason "failed"). A full queue drops the new message (reason
// "queue-full"). Nothing here keeps the process alive: sockets and timers are unref'd, and close()
// flushes for at most its deadline, then drops what is left (reason "shutdown").
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { Logger } from 'pino';
import type { Egress, EgressRules, EgressTls, MessageLogs, MessageLogTarget } from '../flow/types.ts';
import { addressRefusal, nameRefusal } from './address-rules.ts';
import { EgressRefusedError } from './errors.ts';

/** Why a message was dropped: the label of gatehouse_messagelogging_dropped_total. */
export type MessageLogDropReason = 'queue-full' | 'refused' | 'failed' | 'shutdown' | 'evicted';

export interface MessageLogSendersOptions {
  log?: Logger;
  /** Outbound HTTP for http targets; absent: their messages fail. */
  egress?: Egress;
  /** Messages waiting per sender; a new one beyond is dropped. Default 1000. */
  queueSize?: number;
  /**
   * Senders kept (namespace and target), in all and per namespace; beyond, the least recently used
   * one (an idle one first) is closed, its queue dropped as "evicted". Defaults 256 and 32: one tenant's
   * many targets cannot push out every other tenant's.
   */
  maxSenders?: number;
  maxSendersPerNamespace?: number;
  /** Attempts after the first for one message. Default 3. */
  retries?: number;
  /** First backoff, doubled each retry up to maxBackoffMs. Defaults 100 and 5000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Connect (and TLS handshake) deadline; a write that does not complete in writeTimeoutMs breaks the connection. */
  connectTimeoutMs?: number;
  writeTimeoutMs?: number;
  /** Told of every dropped message, for the metric. */
  onDrop?: (reason: MessageLogDropReason) => void;
  /** Told of every message handed to its target. */
  onSent?: () => void;
  /** How names resolve (tests point a name at a chosen address); default the system resolver. */
  lookup?: typeof dnsLookup;
  /** Where stdout targets write; default process.stdout. */
  stdout?: (line: string) => void;
}

export const DEFAULT_MESSAGE_LOG_OPTIONS = {
  queueSize: 1000,
  maxSenders: 256,
  maxSendersPerNamespace: 32,
  retries: 3,
  backoffMs: 100,
  maxBackoffMs: 5_000,
  connectTimeoutMs: 3_000,
  writeTimeoutMs: 5_000,
} as const;

/** Syslog over UDP: one datagram per message, cut to this many bytes (RFC 5426 leaves longer ones to chance). */
export const MAX_UDP_BYTES = 8_192;

/** RFC 6587 3.4.1 octet counting: the message's length in bytes, a space, the message. */
export function octetCountingFrame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

function rulesKey(rules: EgressRules): string {
  return `${rules.allowLinkLocal ? 'll' : '-'}|${[...rules.privateNetworks].sort().join(',')}`;
}

function targetKey(namespace: string, target: MessageLogTarget): string {
  switch (target.kind) {
    case 'stdout':
      return `${namespace}|stdout`;
    case 'http':
      return `${namespace}|http|${target.method}|${target.url}|${JSON.stringify(target.headers)}|${target.timeoutMs}`;
    case 'tls':
      // The TLS material is part of the key (a changed Secret makes a new sender), never logged.
      return `${namespace}|tls|${target.host}|${target.port}|${JSON.stringify([target.tls?.ca ?? '', target.tls?.cert ?? '', target.tls?.key ?? ''])}`;
    default:
      return `${namespace}|${target.kind}|${target.host}|${target.port}`;
  }
}

/** Where a target is, for logs: never its TLS material or headers. */
function describe(target: MessageLogTarget): string {
  switch (target.kind) {
    case 'stdout':
      return 'stdout';
    case 'http':
      return `http ${new URL(target.url).origin}`;
    default:
      return `${target.kind} ${target.host}:${target.port}`;
  }
}

type Settings = Required<Omit<MessageLogSendersOptions, 'log' | 'egress' | 'onDrop' | 'onSent' | 'lookup' | 'stdout'>>;

interface Shared {
  settings: Settings;
  log: Logger | undefined;
  egress: Egress | undefined;
  resolve: typeof dnsLookup;
  stdout: (line: string) => void;
  drop(reason: MessageLogDropReason, count?: number): void;
  sent(): void;
}

export class MessageLogSenders implements MessageLogs {
  private readonly senders = new Map<string, Sender>();
  private readonly shared: Shared;
  private closed = false;

  constructor(options: MessageLogSendersOptions = {}) {
    const { log, egress, onDrop, onSent, lookup, stdout, ...rest } = options;
    this.shared = {
      settings: { ...DEFAULT_MESSAGE_LOG_OPTIONS, ...rest },
      log,
      egress,
      resolve: lookup ?? dnsLookup,
      stdout: stdout ?? ((line) => process.stdout.write(line)),
      drop: (reason, count = 1) => {
        for (let i = 0; i < count; i++) onDrop?.(reason);
      },
      sent: () => onSent?.(),
    };
  }

  send(namespace: string, target: MessageLogTarget, message: Buffer, rules: EgressRules): 'queued' | 'dropped' {
    try {
      if (this.closed) {
        this.shared.drop('shutdown');
        return 'dropped';
      }
      const key = `${targetKey(namespace, target)}|${rulesKey(rules)}`;
      let sender = this.senders.get(key);
      if (sender) {
        this.senders.delete(key); // re-inserted last: least recently used first
      } else {
        this.evict(namespace);
        sender = new Sender(namespace, target, rules, this.shared);
      }
      this.senders.set(key, sender);
      return sender.enqueue(message);
    } catch (err) {
      // Never a throw into the flow: a bad rule or target drops the message.
      this.shared.log?.warn({ err: (err as Error).message }, 'MessageLogging message dropped');
      this.shared.drop('failed');
      return 'dropped';
    }
  }

  /** Senders held now (tests, metrics). */
  size(): number {
    return this.senders.size;
  }

  /** Messages waiting in every queue. */
  pending(): number {
    let n = 0;
    for (const s of this.senders.values()) n += s.pending();
    return n;
  }

  /** Stops taking messages, flushes for at most deadlineMs, then drops what is left and closes every connection. */
  async close(deadlineMs = 2_000): Promise<void> {
    this.closed = true;
    const senders = [...this.senders.values()];
    this.senders.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([Promise.all(senders.map((s) => s.idle())), deadline]);
    clearTimeout(timer);
    for (const s of senders) s.close();
  }

  /** Makes room for a new sender of namespace: per namespace first, then in all. */
  private evict(namespace: string): void {
    const { maxSenders, maxSendersPerNamespace } = this.shared.settings;
    const own = [...this.senders].filter(([, s]) => s.namespace === namespace);
    if (own.length >= maxSendersPerNamespace) this.evictOne(own);
    if (this.senders.size >= maxSenders) this.evictOne([...this.senders]);
  }

  /** Closes the least recently used of these senders, an idle one when there is one. */
  private evictOne(candidates: Array<[string, Sender]>): void {
    const [key, sender] = candidates.find(([, s]) => s.pending() === 0) ?? candidates[0] ?? [];
    if (key === undefined || !sender) return;
    this.senders.delete(key);
    sender.close('evicted');
  }
}

/** A syslog target over a stream: TCP, or TLS with its material. */
interface StreamTarget {
  kind: 'tcp' | 'tls';
  host: string;
  port: number;
  tls?: EgressTls;
}

/** One target's queue and connection; drains in the background. */
class Sender {
  private readonly queue: Buffer[] = [];
  private draining = false;
  private closed = false;
  private stream: Socket | undefined;
  /** The socket being connected, destroyed by close() too. */
  private connecting: Socket | undefined;
  private udp: { socket: UdpSocket; address: string } | undefined;
  private readonly refusal: (address: string) => string | undefined;
  private idleWaiters: Array<() => void> = [];
  private wake: (() => void) | undefined;

  readonly namespace: string;
  /** Why what is still queued at close is dropped. */
  private closeReason: MessageLogDropReason = 'shutdown';
  private readonly target: MessageLogTarget;
  private readonly rules: EgressRules;
  private readonly shared: Shared;

  constructor(namespace: string, target: MessageLogTarget, rules: EgressRules, shared: Shared) {
    this.namespace = namespace;
    this.target = target;
    this.rules = rules;
    this.shared = shared;
    this.refusal = addressRefusal(rules);
  }

  pending(): number {
    return this.queue.length + (this.draining ? 1 : 0);
  }

  enqueue(message: Buffer): 'queued' | 'dropped' {
    if (this.closed || this.queue.length >= this.shared.settings.queueSize) {
      this.shared.drop(this.closed ? 'shutdown' : 'queue-full');
      return 'dropped';
    }
    this.queue.push(message);
    if (!this.draining) void this.drain();
    return 'queued';
  }

  /** Resolves once the queue is empty (or the sender closed). */
  idle(): Promise<void> {
    if (this.pending() === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(reason: MessageLogDropReason = 'shutdown'): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.queue.length > 0) this.shared.drop(reason, this.queue.length);
    this.queue.length = 0;
    this.disconnect();
    this.wake?.();
    this.settleIdle();
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    const { retries, backoffMs, maxBackoffMs } = this.shared.settings;
    try {
      while (!this.closed && this.queue.length > 0) {
        const message = this.queue.shift()!;
        for (let attempt = 0; ; attempt++) {
          try {
            await this.deliver(message);
            this.shared.sent();
            break;
          } catch (err) {
            this.disconnect();
            if (this.closed) {
              this.shared.drop(this.closeReason);
              break;
            }
            // A refused address is not retried: retrying cannot change it.
            const refused = err instanceof EgressRefusedError;
            if (refused || attempt >= retries) {
              this.shared.log?.warn(
                { target: describe(this.target), err: (err as Error).message, attempts: attempt + 1 },
                'MessageLogging message dropped',
              );
              this.shared.drop(refused ? 'refused' : 'failed');
              break;
            }
            await this.sleep(Math.min(maxBackoffMs, backoffMs * 2 ** attempt));
            if (this.closed) {
              // Closed during the backoff: no further attempt.
              this.shared.drop(this.closeReason);
              break;
            }
          }
        }
      }
    } finally {
      this.draining = false;
      if (this.queue.length === 0 || this.closed) this.settleIdle();
      else void this.drain();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async deliver(message: Buffer): Promise<void> {
    const target = this.target;
    switch (target.kind) {
      case 'stdout':
        this.shared.stdout(`${message.toString('utf8').replace(/\r?\n/g, ' ')}\n`);
        return;
      case 'http':
        return this.deliverHttp(target, message);
      case 'udp':
        return this.deliverUdp(target, message);
      case 'tls':
        return this.deliverStream(target, message);
      default:
        return this.deliverStream({ kind: 'tcp', host: target.host, port: target.port }, message);
    }
  }

  private async deliverHttp(target: Extract<MessageLogTarget, { kind: 'http' }>, message: Buffer): Promise<void> {
    if (!this.shared.egress) throw new Error('this extproc makes no outbound calls');
    // The egress client rejects a refused address with EgressRefusedError, which is not retried.
    const answer = await this.shared.egress.send(
      { url: target.url, method: target.method, headers: target.headers, body: message },
      { timeoutMs: target.timeoutMs, rules: this.rules, maxResponseBytes: 65_536 },
    );
    if (answer.status < 200 || answer.status > 299) throw new Error(`the log endpoint answered ${answer.status}`);
  }

  /** The first address of host the rules allow; EgressRefusedError when there is none. */
  private resolveAllowed(host: string): Promise<{ address: string; family: number }> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) {
      const why = this.refusal(bare);
      return why
        ? Promise.reject(new EgressRefusedError(bare, why))
        : Promise.resolve({ address: bare, family: isIP(bare) });
    }
    const named = nameRefusal(this.rules, bare);
    if (named) return Promise.reject(new EgressRefusedError(bare, named));
    return new Promise((resolve, reject) => {
      this.shared.resolve(bare, { all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return reject(err);
        const allowed = addresses.find((a) => this.refusal(a.address) === undefined);
        if (allowed) return resolve(allowed);
        const why = this.refusal(addresses[0]?.address ?? '') ?? 'no address';
        reject(new EgressRefusedError(bare, `it resolves to no allowed address (${why})`));
      });
    });
  }

  private async deliverUdp(target: { host: string; port: number }, message: Buffer): Promise<void> {
    if (!this.udp) {
      const { address, family } = await this.resolveAllowed(target.host);
      if (this.closed) throw new Error('closed');
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      socket.on('error', () => this.disconnect());
      socket.unref();
      this.udp = { socket, address };
    }
    const { socket, address } = this.udp;
    const datagram = message.length > MAX_UDP_BYTES ? message.subarray(0, MAX_UDP_BYTES) : message;
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram, target.port, address, (err) => (err ? reject(err) : resolve())),
    );
  }

  private async deliverStream(target: StreamTarget, message: Buffer): Promise<void> {
    const socket = this.stream ?? (await this.connect(target));
    const frame = octetCountingFrame(message);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no write within ${this.shared.settings.writeTimeoutMs} ms`));
      }, this.shared.settings.writeTimeoutMs);
      timer.unref();
      const onClose = () => {
        clearTimeout(timer);
        reject(new Error('the connection closed'));
      };
      socket.once('close', onClose);
      socket.write(frame, (err) => {
        clearTimeout(timer);
        socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private async connect(target: StreamTarget): Promise<Socket> {
    const { address } = await this.resolveAllowed(target.host);
    if (this.closed) throw new Error('closed');
    const servername = isIP(target.host.replace(/^\[|\]$/g, '')) === 0 ? target.host : undefined;
    const socket: Socket =
      target.kind === 'tls'
        ? tlsConnect({
            host: address,
            port: target.port,
            ...(servername ? { servername } : {}),
            // The certificate is checked against the configured name, not the address dialled.
            checkServerIdentity: (_host, cert) => checkServerIdentity(target.host.replace(/^\[|\]$/g, ''), cert),
            ...(target.tls?.ca !== undefined ? { ca: target.tls?.ca } : {}),
            ...(target.tls?.cert !== undefined ? { cert: target.tls?.cert } : {}),
            ...(target.tls?.key !== undefined ? { key: target.tls?.key } : {}),
            rejectUnauthorized: true,
          })
        : netConnect({ host: address, port: target.port });
    socket.unref();
    socket.setNoDelay(true);
    this.connecting = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection within ${this.shared.settings.connectTimeoutMs} ms`));
      }, this.shared.settings.connectTimeoutMs);
      timer.unref();
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once(target.kind === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        const refused = socket.remoteAddress ? this.refusal(socket.remoteAddress) : undefined;
        if (refused) return fail(new EgressRefusedError(`${target.host}:${target.port}`, refused));
        resolve();
      });
      socket.once('close', () => fail(new Error('the connection closed')));
    }).finally(() => {
      if (this.connecting === socket) this.connecting = undefined;
    });
    if (this.closed) {
      socket.destroy();
      throw new Error('closed');
    }
    // A syslog receiver sends nothing; what it does send is read and dropped so it cannot fill our buffers.
    socket.on('data', () => undefined);
    socket.on('error', () => this.disconnect());
    socket.on('close', () => {
      if (this.stream === socket) this.stream = undefined;
    });
    this.stream = socket;
    return socket;
  }

  private disconnect(): void {
    this.connecting?.destroy();
    this.connecting = undefined;
    this.stream?.destroy();
    this.stream = undefined;
    this.udp?.socket.close();
    this.udp = undefined;
  }
}
