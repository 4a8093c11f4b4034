// Sends captured transactions to the operator's DebugCaptureService (protos/gatehouse/v1/debug.proto),
// on the address and TLS extproc uses for xDS (docs/operations.md#debug-sessions). In the background:
// enqueue() never waits, the queue is bounded, one call is in flight at a time with a deadline, and a
// transaction that cannot be queued or sent is dropped and counted
// (gatehouse_debug_captures_dropped_total{reason}), never retried into a growing backlog. The operator's
// answer (DebugCaptureAck.remaining) is handed back, so a session it has enough of stops here.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../../protos/gen/debug.ts';
import type { DebugCaptureServiceClient } from '../../../protos/gen/gatehouse/v1/DebugCaptureService.ts';
import type { DebugTransaction } from '../../../protos/gen/gatehouse/v1/DebugTransaction.ts';
import type { Logger } from '../../../lib/log.ts';

/** Why a capture did not reach the operator. */
export type DropReason = 'queue_full' | 'send_failed' | 'mask_failed' | 'shutdown';

/** Where capture.ts hands masked transactions. */
export interface CaptureSink {
  enqueue(sessionId: string, transaction: DebugTransaction): void;
}

export interface DebugReporterOptions {
  /** HOST:PORT of the operator (extproc's --xds). */
  address: string;
  /** TLS as for xDS (lib/tls grpcChannelCredentials); default plain text. */
  credentials?: grpc.ChannelCredentials;
  /** extproc's xDS node id. */
  nodeId: string;
  /** Transactions waiting to be sent, at most (default 64); more are dropped as queue_full. */
  maxQueue?: number;
  /** Deadline of one Report call (default 5 s); a hung operator costs this much per call, off the request path. */
  timeoutMs?: number;
  /** Transactions of one session sent in one call, at most (default 8). */
  maxBatch?: number;
  onAck(sessionId: string, remaining: number): void;
  onDrop(reason: DropReason, count: number): void;
  onSent?(count: number): void;
  /** Told when reports start failing and when they work again (one line each, not one per failure). */
  log?: Pick<Logger, 'warn' | 'info'>;
}

let loaded: ProtoGrpcType | undefined;

export function createDebugCaptureClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): DebugCaptureServiceClient {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(new URL('../../../protos/gatehouse/v1/debug.proto', import.meta.url).pathname, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  ) as unknown as ProtoGrpcType;
  return new loaded.gatehouse.v1.DebugCaptureService(address, credentials, {
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
}

export class DebugReporter implements CaptureSink {
  private readonly options: Required<Omit<DebugReporterOptions, 'credentials' | 'onSent' | 'log'>> &
    Pick<DebugReporterOptions, 'onSent' | 'log'>;
  /** The last call failed: the next success is logged. */
  private failing = false;
  private readonly client: DebugCaptureServiceClient;
  private readonly queue: Array<{ sessionId: string; transaction: DebugTransaction }> = [];
  private sending = false;
  private closed = false;
  /** Settles when the queue is empty and nothing is in flight (tests, shutdown). */
  private idle: Promise<void> = Promise.resolve();

  constructor(options: DebugReporterOptions) {
    this.options = { maxQueue: 64, timeoutMs: 5000, maxBatch: 8, ...options };
    this.client = createDebugCaptureClient(options.address, options.credentials);
  }

  enqueue(sessionId: string, transaction: DebugTransaction): void {
    if (this.closed || this.queue.length >= this.options.maxQueue) {
      this.options.onDrop('queue_full', 1);
      return;
    }
    this.queue.push({ sessionId, transaction });
    if (!this.sending) this.idle = this.pump();
  }

  /** Resolves once everything queued was sent or dropped. */
  flushed(): Promise<void> {
    return this.idle;
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const sessionId = this.queue[0]!.sessionId;
        const batch: DebugTransaction[] = [];
        for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch;) {
          if (this.queue[i]!.sessionId === sessionId) batch.push(this.queue.splice(i, 1)[0]!.transaction);
          else i++;
        }
        try {
          const remaining = await this.report(sessionId, batch);
          if (this.failing)
            this.options.log?.info({ address: this.options.address }, 'debug capture reports work again');
          this.failing = false;
          this.options.onSent?.(batch.length);
          this.options.onAck(sessionId, remaining);
        } catch (err) {
          if (!this.failing)
            this.options.log?.warn(
              { address: this.options.address, err: (err as Error).message },
              'debug capture reports fail; captures are dropped (gatehouse_debug_captures_dropped_total)',
            );
          this.failing = true;
          this.options.onDrop('send_failed', batch.length);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private report(sessionId: string, transactions: DebugTransaction[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.Report(
        { nodeId: this.options.nodeId, sessionId, transactions },
        { deadline: Date.now() + this.options.timeoutMs },
        (err, ack) => (err || !ack ? reject(err ?? new Error('no ack')) : resolve(ack.remaining)),
      );
    });
  }

  /** Drops what is queued (counted) and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0) this.options.onDrop('shutdown', this.queue.splice(0).length);
    this.client.close();
  }
}
