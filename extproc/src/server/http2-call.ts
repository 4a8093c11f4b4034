// One gRPC call on a node:http2 stream (the http2 transport, transport.ts): gRPC's length-prefixed
// messages decoded with the generated codecs (protos/gen/extproc), `content-type: application/grpc`
// replies, the status in trailers (grpc-status, percent-encoded grpc-message) or trailers-only when
// nothing was sent, the `grpc-timeout` deadline, and cancellation when the client resets the stream.
// Bounded: a message longer than the receive limit is refused (RESOURCE_EXHAUSTED) from its 5-byte
// prefix, before its bytes are held; a compressed message is refused (no grpc-encoding is accepted); a
// message that does not decode ends the call with INTERNAL, as grpc-js does. Back-pressure both ways:
// the stream stops reading (and HTTP/2 flow control stops the client) while `maxQueued` messages wait
// for their reply or while the replies written have not drained to the socket.
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { encodeGrpcMessage } from './transport.ts';

/** gRPC status codes the transport itself sends (the rest come from the stream state machine). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export interface MessageCodec<In, Out> {
  /** What the messages are, in errors ("ProcessingRequest"). */
  name: string;
  decode(bytes: Uint8Array): In;
  /** The message's bytes, or the bytes of consecutive parts of it (framed as one message). */
  encode(message: Out): Uint8Array | readonly Uint8Array[];
}

export interface Http2CallOptions {
  maxReceiveMessageBytes: number;
  /** Messages received and not yet answered after which reading stops until a reply is written. */
  maxQueued: number;
}

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const HEADER_BYTES = 5;

/** Request metadata as grpc-js's Metadata.get gives it: every value of a header, `-bin` ones decoded. */
class HeaderMetadata {
  private readonly headers: IncomingHttpHeaders;
  constructor(headers: IncomingHttpHeaders) {
    this.headers = headers;
  }
  get(key: string): Array<string | Buffer> {
    const name = key.toLowerCase();
    if (name.startsWith(':')) return [];
    const raw = this.headers[name];
    if (raw === undefined) return [];
    const values = Array.isArray(raw) ? raw : name.endsWith('-bin') ? raw.split(',') : [raw];
    return name.endsWith('-bin') ? values.map((v) => Buffer.from(v.trim(), 'base64')) : values;
  }
}

/**
 * Where a call's events go (one object, its methods called directly: no emitter, no listener closures
 * per call; docs/architecture.md#the-hot-path).
 */
export interface CallSink<In> {
  /** A message arrived. */
  message(message: In): void;
  /** The client half-closed. */
  halfClosed(): void;
  /** The client went away, the deadline passed or a message was refused: nothing more is read or written. */
  cancelled(): void;
}

/** The call a node:http2 stream carries (a property of the stream, so its listeners are shared functions). */
const CALL: unique symbol = Symbol('gatehouse.http2Call');
type CallStream = ServerHttp2Stream & { [CALL]: Http2Call<unknown, unknown> };

function onStreamData(this: CallStream, chunk: Buffer): void {
  this[CALL].onData(chunk);
}
function onStreamEnd(this: CallStream): void {
  this[CALL].onEnd();
}
function onStreamWantTrailers(this: CallStream): void {
  this[CALL].onWantTrailers();
}
function onStreamClose(this: CallStream): void {
  this[CALL].onClose();
}
function onStreamDrain(this: CallStream): void {
  this[CALL].onDrain();
}
function ignore(): void {}
function cancelledLater(call: Http2Call<unknown, unknown>): void {
  call.sink.cancelled();
}
function deadlineExceeded(call: Http2Call<unknown, unknown>): void {
  call.fail(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded');
}
function resetLater(call: Http2Call<unknown, unknown>): void {
  call.resetIfOpen();
}

/** Until listen(): events are dropped (a call is always listened to in the tick it is made). */
const NO_SINK: CallSink<unknown> = { message: ignore, halfClosed: ignore, cancelled: ignore };

/** Every reply's headers and the trailers of an OK call: one frozen object each (node:http2 copies them). */
const RESPONSE_HEADERS = Object.freeze({
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': 'identity',
});
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });
const END_STREAM = Object.freeze({ endStream: true });
const OK_TRAILERS = Object.freeze({ 'grpc-status': '0' });

export class Http2Call<In, Out> {
  readonly metadata: HeaderMetadata;
  /** @internal Where events go (listen). */
  sink: CallSink<In> = NO_SINK;
  private readonly stream: ServerHttp2Stream;
  private readonly codec: MessageCodec<In, Out>;
  private readonly options: Http2CallOptions;
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** The length of the message being received, from its prefix; -1 while the prefix is awaited. */
  private frameLength = -1;
  private received = 0;
  private written = 0;
  /** Writes not yet drained to the session. */
  private draining = false;
  private paused = false;
  /** The call is over for us: status sent, or the stream closed first. Nothing more is read or written. */
  private done = false;
  private trailers: Readonly<Record<string, string>> = OK_TRAILERS;
  private deadline: NodeJS.Timeout | undefined = undefined;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    codec: MessageCodec<In, Out>,
    options: Http2CallOptions,
  ) {
    this.stream = stream;
    this.codec = codec;
    this.options = options;
    this.metadata = new HeaderMetadata(headers);
    (stream as CallStream)[CALL] = this;
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('wantTrailers', onStreamWantTrailers);
    // 'close' is emitted once; 'error' (a reset from the client) is ignored by the transport's listener.
    stream.on('close', onStreamClose);
    const timeoutHeader = headers['grpc-timeout'];
    const timeout = Array.isArray(timeoutHeader) ? timeoutHeader.join(',') : timeoutHeader;
    if (timeout !== undefined) {
      const match = GRPC_TIMEOUT.exec(timeout);
      if (!match) this.fail(GrpcStatus.INTERNAL, `Invalid grpc-timeout value "${timeout.slice(0, 32)}"`);
      else {
        const ms = Math.max(0, Math.ceil(Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!));
        this.deadline = setTimeout(deadlineExceeded, ms, this);
        this.deadline.unref();
      }
    }
  }

  /** Where the call's events go from now on; called once, in the tick the call is made. */
  listen(sink: CallSink<In>): void {
    this.sink = sink;
  }

  /** @internal A failure the transport found (message too large, undecodable, deadline): the status, then cancelled. */
  fail(code: number, details: string): void {
    if (this.done) return;
    this.sendStatus(code, details);
    process.nextTick(cancelledLater, this);
  }

  /** @internal */
  onWantTrailers(): void {
    const stream = this.stream;
    try {
      stream.sendTrailers(this.trailers);
    } catch {
      stream.destroy();
      return;
    }
    // After the status, a client that has not half-closed is reset (resetIfOpen); one that has (every
    // Envoy stream that ends normally) needs nothing. Not from inside nghttp2's send callback (where
    // wantTrailers runs): the reset would overtake the trailers.
    if (!stream.readableEnded) setImmediate(resetLater, this);
  }

  /** @internal */
  onClose(): void {
    clearTimeout(this.deadline);
    if (this.done) return;
    this.done = true;
    this.sink.cancelled();
  }

  /** Sends one message; false when the caller should wait (the reply is still queued either way). */
  write(message: Out): boolean {
    if (this.done || this.stream.destroyed) return false;
    const body = this.codec.encode(message);
    let frame: Buffer;
    if (body instanceof Uint8Array) {
      frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
      frame.set(body, HEADER_BYTES);
    } else {
      let length = 0;
      for (const part of body) length += part.length;
      frame = Buffer.allocUnsafe(HEADER_BYTES + length);
      let at = HEADER_BYTES;
      for (const part of body) {
        frame.set(part, at);
        at += part.length;
      }
    }
    frame[0] = 0;
    frame.writeUInt32BE(frame.length - HEADER_BYTES, 1);
    this.written++;
    let flushed: boolean;
    try {
      this.respond();
      flushed = this.stream.write(frame);
    } catch {
      this.stream.destroy();
      return false;
    }
    if (!flushed && !this.draining) {
      // Listened for only while a write waits (most never do): one listener less per call.
      this.draining = true;
      this.stream.once('drain', onStreamDrain);
    }
    this.flow();
    return flushed;
  }

  /** @internal */
  onDrain(): void {
    this.draining = false;
    this.flow();
  }

  /** Ends the call with status OK. */
  end(): void {
    this.sendStatus(GrpcStatus.OK, '');
  }

  /** Ends the call with `code`; trailers-only when nothing was sent yet. Idempotent. */
  sendStatus(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadline);
    const stream = this.stream;
    // Whatever the client still sends is read and dropped (the stream ends when it half-closes or resets).
    this.chunks = [];
    this.bytes = 0;
    stream.resume();
    if (stream.destroyed || stream.closed) return;
    let trailers: Readonly<Record<string, string>> = OK_TRAILERS;
    if (code !== GrpcStatus.OK || details !== '') {
      const status: Record<string, string> = { 'grpc-status': String(code) };
      if (details !== '') status['grpc-message'] = encodeGrpcMessage(details);
      trailers = status;
    }
    // The session may be going away under us (a connection error, a forced shutdown): whatever Node
    // refuses then is a stream already over, never an exception out of a timer or a 'data' handler.
    try {
      if (!stream.headersSent) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, END_STREAM);
        this.resetIfOpen();
        return;
      }
      this.trailers = trailers;
      stream.end();
    } catch {
      stream.destroy();
    }
  }

  /**
   * After the status, a client that has not half-closed gets RST_STREAM(NO_ERROR), as grpc-go sends
   * it: the call is over, and the stream must not stay open on a client that never ends it. Node sends
   * the reset only once the replies and trailers are written.
   */
  resetIfOpen(): void {
    if (!this.stream.readableEnded && !this.stream.closed && !this.stream.destroyed)
      this.stream.close(constants.NGHTTP2_NO_ERROR);
  }

  private respond(): void {
    if (this.stream.headersSent) return;
    this.stream.respond(RESPONSE_HEADERS, WAIT_FOR_TRAILERS);
  }

  /** Reads on only while the client is not ahead of us by maxQueued messages and the replies drain. */
  private flow(): void {
    if (this.done) return;
    const hold = this.draining || this.received - this.written >= this.options.maxQueued;
    if (hold && !this.paused) {
      this.paused = true;
      this.stream.pause();
    } else if (!hold && this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.bytes);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.bytes -= n;
    return out;
  }

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.done) return;
    if (this.bytes === 0 && this.frameLength < 0) {
      // Nothing pending (nearly always: a DATA frame holds whole messages): the messages wholly in the
      // chunk are read in place, without the pending list; a prefix to refuse or a message cut at the
      // chunk's end goes to the general path below.
      let at = 0;
      while (chunk.length - at >= HEADER_BYTES) {
        const length = chunk.readUInt32BE(at + 1);
        if (chunk[at] !== 0 || length > this.options.maxReceiveMessageBytes) break;
        if (chunk.length - at - HEADER_BYTES < length) break;
        at += HEADER_BYTES;
        const body = chunk.subarray(at, at + length);
        at += length;
        if (!this.deliver(body)) return;
      }
      if (at === chunk.length) return;
      if (at > 0) chunk = chunk.subarray(at);
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    for (;;) {
      if (this.done) return;
      if (this.frameLength < 0) {
        if (this.bytes < HEADER_BYTES) return;
        const prefix = this.take(HEADER_BYTES);
        const flags = prefix[0]!;
        if (flags !== 0) {
          this.fail(
            GrpcStatus.INTERNAL,
            flags === 1
              ? 'compressed message received, but this server accepts grpc-encoding identity only'
              : `invalid gRPC message flags ${flags}`,
          );
          return;
        }
        const length = prefix.readUInt32BE(1);
        if (length > this.options.maxReceiveMessageBytes) {
          this.fail(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `Received message larger than max (${length} vs. ${this.options.maxReceiveMessageBytes})`,
          );
          return;
        }
        this.frameLength = length;
      }
      if (this.bytes < this.frameLength) return;
      const body = this.frameLength === 0 ? Buffer.alloc(0) : this.take(this.frameLength);
      this.frameLength = -1;
      if (!this.deliver(body)) return;
    }
  }

  /** Decodes a message and hands it over; false when the call is over (undecodable, or ended by it). */
  private deliver(body: Buffer): boolean {
    let message: In;
    try {
      message = this.codec.decode(body);
    } catch (err) {
      this.fail(GrpcStatus.INTERNAL, `cannot decode ${this.codec.name}: ${(err as Error).message}`);
      return false;
    }
    this.received++;
    this.sink.message(message);
    this.flow();
    return !this.done;
  }

  /** @internal */
  onEnd(): void {
    if (this.done) return;
    if (this.bytes > 0 || this.frameLength >= 0) {
      this.fail(GrpcStatus.INTERNAL, `the client half-closed in the middle of a ${this.codec.name}`);
      return;
    }
    this.sink.halfClosed();
  }
}
