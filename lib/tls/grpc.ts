// TLS for gRPC with material that changes under the process. Servers: our TlsListener accepts and
// verifies connections and injects them into the grpc-js server (Server.createConnectionInjector), so
// a renewed certificate or trust bundle applies to new handshakes while open HTTP/2 connections and
// their streams carry on, and refused peers are logged with their issuer. Clients: channel
// credentials whose connector (@grpc/grpc-js `experimental.SecureConnector`) builds each new
// connection from the material current at that moment and verifies the server itself.
//
// Not grpc-js's own createCertificateProviderServerCredentials / FileWatcherCertificateProvider: those
// re-read certificate and key separately on a timer, publish "no identity" (dropping every new
// connection) when a read fails or the pair is mid-swap, cannot carry TLS version bounds or cipher
// suites, and report an untrusted peer only as "unable to verify the first certificate".
import * as grpc from '@grpc/grpc-js';
import type { ClientTlsOptions } from './client.ts';
import { secureConnect } from './client.ts';
import { TlsListener, type TlsListenerOptions } from './server.ts';

type SecureConnector = grpc.experimental.SecureConnector;
type GrpcUri = grpc.experimental.GrpcUri;

export interface GrpcTlsListener {
  port: number;
  listener: TlsListener;
  /** Stops accepting connections; the gRPC server's shutdown drains the open ones. */
  close(): Promise<void>;
}

/** Serves `server` over TLS on host:port (0 picks a port). */
export async function listenGrpcTls(
  server: grpc.Server,
  host: string,
  port: number,
  options: Omit<TlsListenerOptions, 'onConnection' | 'alpn'>,
): Promise<GrpcTlsListener> {
  // The TLS is ours; grpc-js sees plain HTTP/2 over the already verified TLS socket.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = new TlsListener({
    ...options,
    alpn: ['h2'],
    onConnection: (socket) => injector.injectConnection(socket),
  });
  const bound = await listener.listen(host, port);
  return { port: bound, listener, close: () => listener.close() };
}

/** The host part of a channel target ("dns:gatehouse-xds.ns.svc:18000" -> "gatehouse-xds.ns.svc"). */
function targetHost(target: GrpcUri): string {
  const hostPort = grpc.experimental.splitHostPort(target.path);
  return hostPort?.host ?? target.path;
}

export interface GrpcClientTlsOptions extends ClientTlsOptions {
  /** Check the server's certificate against the dialled host (default true). Envoy-style clients check SAN matchers only. */
  matchTarget?: boolean;
}

class ReloadingChannelCredentials extends grpc.ChannelCredentials {
  private readonly options: GrpcClientTlsOptions;

  constructor(options: GrpcClientTlsOptions) {
    super();
    this.options = options;
  }

  override _isSecure(): boolean {
    return true;
  }

  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(
    target: GrpcUri,
    channelOptions: grpc.ChannelOptions,
    callCredentials?: grpc.CallCredentials,
  ): SecureConnector {
    const override = channelOptions['grpc.ssl_target_name_override'];
    const serverName =
      this.options.matchTarget === false
        ? this.options.serverName
        : (this.options.serverName ?? override ?? targetHost(target));
    const peer = target.path;
    return {
      connect: async (socket) => ({
        socket: await secureConnect(
          { socket, peer },
          { ...this.options, ...(serverName !== undefined ? { serverName } : {}), alpn: ['h2'] },
        ),
        secure: true,
      }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? grpc.CallCredentials.createEmpty(),
      destroy: () => undefined,
    };
  }
}

/**
 * Channel credentials for a gRPC client: each new connection uses the material current then (so
 * renewed client certificates and rotated trust bundles apply without restarting), and a server whose
 * certificate does not verify is refused with an error naming its issuer.
 */
export function grpcChannelCredentials(options: GrpcClientTlsOptions): grpc.ChannelCredentials {
  return new ReloadingChannelCredentials(options);
}
