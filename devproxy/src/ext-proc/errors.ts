// Why Envoy's side of an ext_proc stream gave up on the processor, one class per failure (DESIGN 10).
// The exchange turns each into what Envoy does for it: failure_mode_allow, or a local reply.
import { GatehouseError } from '../../../lib/errors.ts';

/** The base of every ext_proc processing failure. */
export abstract class ExtProcError extends GatehouseError {}

/** No reply came within message_timeout (Filter::onMessageTimeout). */
export class ExtProcMessageTimeoutError extends ExtProcError {
  constructor(timeoutMs: number) {
    super('GH_ERR_DEVPROXY_EXT_PROC_MESSAGE_TIMEOUT', `message_timeout: no reply within ${timeoutMs} ms`);
  }
}

/** The server ended the stream with a gRPC error status (Filter::onGrpcError). */
export class ExtProcGrpcError extends ExtProcError {
  readonly grpcCode: number;
  constructor(grpcCode: number, details: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_GRPC', `gRPC status ${grpcCode}: ${details}`);
    this.grpcCode = grpcCode;
  }
}

/** The server ended the stream with status OK while a reply was awaited (Filter::onGrpcClose). */
export class ExtProcStreamClosedError extends ExtProcError {
  constructor() {
    super('GH_ERR_DEVPROXY_EXT_PROC_STREAM_CLOSED', 'stream closed by the server');
  }
}

/** A reply that does not answer the message Envoy is waiting for (spurious message). */
export class ExtProcSpuriousMessageError extends ExtProcError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_SPURIOUS_MESSAGE', message);
  }
}

/** A header mutation the mutation rules refuse with disallow_is_error. */
export class HeaderMutationRejectedError extends ExtProcError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_MUTATION_REJECTED', message);
  }
}
