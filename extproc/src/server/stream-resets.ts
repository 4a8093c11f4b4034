// Envoy ends every ext_proc stream with a reset (ExternalProcessorStreamImpl::close: closeStream()
// then resetStream(); devproxy/src/ext-proc/processor-stream.ts plays it). Node's HTTP/2 server
// (nghttp2) allows a connection a burst of 1,000 incoming RST_STREAM frames, then 33 a second (the
// rapid-reset mitigation of CVE-2023-44487), and past that ends the connection with INTERNAL_ERROR,
// failing every stream on it: an Envoy sending more than 33 requests a second over one connection
// would lose all its in-flight ext_proc streams again and again (500s under FailClosed, requests let
// through unchecked under FailOpen). grpc-js has no option for it, so the limit is raised on the
// options grpc-js builds its HTTP/2 servers from (both the bound port and injected TLS connections).
// The port is Envoy's alone (mutual TLS in a cluster), and open streams stay bounded by maxStreams
// (docs/failure-modes.md).
import type * as grpc from '@grpc/grpc-js';

/** Far above any one Envoy connection's request rate. */
export const envoyStreamResetLimit = { burst: 1_000_000, perSecond: 1_000_000 } as const;

/** Raises the limit; false if this grpc-js keeps its HTTP/2 server options elsewhere (nothing changed). */
export function allowEnvoyStreamResets(server: grpc.Server): boolean {
  const options = (server as unknown as { commonServerOptions?: Record<string, unknown> }).commonServerOptions;
  if (typeof options !== 'object') return false;
  options.streamResetBurst = envoyStreamResetLimit.burst;
  options.streamResetRate = envoyStreamResetLimit.perSecond;
  return true;
}
