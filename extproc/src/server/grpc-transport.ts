// The ext_proc transport on grpc-js (transport.ts): ExternalProcessor.Process through proto-loader's
// codecs, the health service from grpc-health-check, TLS through lib/tls's listener injecting verified
// sockets into the server, shutdown by tryShutdown with forceShutdown at the deadline.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { listenGrpcTls, type GrpcTlsListener } from '../../../lib/tls/grpc.ts';
import { externalProcessorService } from './envoy-proto.ts';
import { allowEnvoyStreamResets } from './stream-resets.ts';
import type { ProcessingRequest, ProcessingResponse } from './envoy-proto.ts';
import {
  EXT_PROC_SERVICE,
  type ExtprocTransport,
  type ProcessCall,
  type ProcessSink,
  type TransportOptions,
} from './transport.ts';

type DuplexCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** grpc-js's duplex call as the state machine's ProcessCall: its events to the sink, a status as an 'error'. */
class GrpcProcessCall implements ProcessCall {
  private readonly call: DuplexCall;
  constructor(call: DuplexCall) {
    this.call = call;
    // Emitting 'error' with a status ends a grpc-js call with it; a listener must be there to take it.
    call.on('error', () => undefined);
  }
  get metadata(): ProcessCall['metadata'] {
    return this.call.metadata;
  }
  listen(sink: ProcessSink): void {
    this.call.on('data', (msg: ProcessingRequest) => sink.message(msg));
    this.call.on('end', () => sink.halfClosed());
    this.call.on('cancelled', () => sink.cancelled());
    this.call.on('error', () => sink.cancelled());
  }
  write(msg: ProcessingResponse): boolean {
    return this.call.write(msg);
  }
  end(): void {
    this.call.end();
  }
  sendStatus(code: number, details: string): void {
    this.call.emit('error', { code, details });
  }
}

export function createGrpcTransport(options: TransportOptions): ExtprocTransport {
  const server = new grpc.Server({
    ...(options.maxConnectionStreams > 0 ? { 'grpc.max_concurrent_streams': options.maxConnectionStreams } : {}),
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    ...(options.keepaliveTimeMs > 0
      ? { 'grpc.keepalive_time_ms': options.keepaliveTimeMs, 'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs }
      : {}),
    // At the age (plus or minus 10%) grpc-js sends GOAWAY; at the grace after it, it destroys the connection.
    ...((options.maxConnectionAgeMs ?? 0) > 0 ? { 'grpc.max_connection_age_ms': options.maxConnectionAgeMs } : {}),
    ...((options.maxConnectionAgeGraceMs ?? 0) > 0
      ? { 'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs }
      : {}),
  });
  if (!allowEnvoyStreamResets(server))
    options.log.warn(
      'cannot raise the HTTP/2 stream-reset limit on this grpc-js: a busy Envoy connection may be cut (stream-resets.ts)',
    );
  server.addService(externalProcessorService(), {
    process: (call: DuplexCall) => options.onProcess(new GrpcProcessCall(call)),
  });
  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  let tlsListener: GrpcTlsListener | undefined;

  return {
    name: 'grpc-js',
    setServing: (serving) => {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(EXT_PROC_SERVICE, status);
    },
    listen: async (host, port) => {
      const tls = options.tls;
      if (tls) {
        tlsListener = await listenGrpcTls(server, host, port, {
          source: tls.watcher,
          policy: tls.policy,
          clientAuth: tls.clientAuth,
          log: options.log,
          purpose: 'ext_proc server',
          ...(options.onTlsRefused ? { onRefused: options.onTlsRefused } : {}),
        });
        return tlsListener.port;
      }
      return new Promise((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        );
      });
    },
    shutdown: (graceMs) =>
      new Promise((resolve) => {
        void tlsListener?.close();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
