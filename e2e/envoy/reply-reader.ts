// Reads an ext_proc stream's replies one at a time, as Envoy waits for them: each within
// message_timeout, a gRPC error or an early end being a failure. After Envoy half-closes, any reply
// still arriving is spurious.
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { GatehouseError } from '../../lib/errors.ts';
import type { ProcessingRequest } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';

/** ext_proc processing failed: Envoy applies failure_mode_allow. */
export class StreamFailure extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_FAILED', message);
  }
}

type Waiter = { resolve: (r: ProcessingResponse__Output) => void; reject: (e: Error) => void };

export class ReplyReader {
  private readonly buffered: ProcessingResponse__Output[] = [];
  private waiter: Waiter | undefined;
  private ended: Error | undefined;
  private readonly done: Promise<void>;

  constructor(call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output>) {
    call.on('data', (reply: ProcessingResponse__Output) => {
      if (this.waiter) {
        this.waiter.resolve(reply);
        this.waiter = undefined;
      } else {
        this.buffered.push(reply);
      }
    });
    this.done = new Promise((resolve) => {
      call.on('status', (status: grpc.StatusObject) => {
        this.end(
          new StreamFailure(
            status.code === grpcStatus.OK
              ? 'stream closed by the server'
              : `gRPC status ${status.code}: ${status.details}`,
          ),
        );
        resolve();
      });
      call.on('error', () => undefined); // the status event carries the error
    });
  }

  private end(reason: StreamFailure): void {
    this.ended ??= reason;
    this.waiter?.reject(this.ended);
    this.waiter = undefined;
  }

  next(timeoutMs: number): Promise<ProcessingResponse__Output> {
    const ready = this.buffered.shift();
    if (ready) return Promise.resolve(ready);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new StreamFailure(`message_timeout: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Waits for the server to end the stream; returns the replies that came unasked (spurious). */
  async closed(timeoutMs: number): Promise<ProcessingResponse__Output[]> {
    await Promise.race([this.done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    return this.buffered.splice(0);
  }
}
