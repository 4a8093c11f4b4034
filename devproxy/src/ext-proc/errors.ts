// Why Envoy's side of an ext_proc stream gave up on the processor, one class per failure (docs/architecture.md#tests-and-quality-bars).
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

/** A reply Envoy is not waiting for, of the wrong kind, or with no response set (spurious message). */
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

/** A header mutation Envoy cannot apply at all: an invalid name or value, value and raw_value both set, too many headers. */
export class InvalidHeaderMutationError extends ExtProcError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_INVALID_MUTATION', message);
  }
}

/** A buffered body replaced while the headers keep a content-length that does not match it (ProcessorState::validateContentLength). */
export class ContentLengthMismatchError extends ExtProcError {
  constructor(contentLength: number, bodyLength: number) {
    super(
      'GH_ERR_DEVPROXY_EXT_PROC_CONTENT_LENGTH_MISMATCH',
      `mismatch between content length (${contentLength}) and the length of the mutated body (${bodyLength})`,
    );
  }
}

/** The ext_proc stream could not be opened (no healthy host in the ext_proc cluster): a gRPC UNAVAILABLE to the filter. */
export class ExtProcUnavailableError extends ExtProcError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_EXT_PROC_UNAVAILABLE', message);
  }
}
