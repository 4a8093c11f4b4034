// A TLS listener whose certificate, trust bundle and policy can change under it: new handshakes get
// the new secure context (server.setSecureContext), connections already open keep theirs. Client
// certificates (mTLS) are verified here after the handshake so that a refusal is logged with the
// peer's issuer; a refused socket is destroyed before any application byte is read. What is accepted
// is handed to `onConnection` (the gRPC server, an HTTP server).
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { GatehouseError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { TlsHandshakeError } from './errors.ts';
import { peerSummary, verifyPeer } from './peer.ts';
import { secureContextOptions, type TlsPolicy } from './policy.ts';
import type { MaterialSource } from './watcher.ts';

export type ClientAuth = 'none' | 'optional' | 'required';

export interface TlsListenerOptions {
  /** The certificate and key served, and (for client auth) the CA bundle client certificates must chain to. */
  source: MaterialSource;
  policy: TlsPolicy;
  /** none: no client certificate asked for; optional: verified when presented; required: mTLS. */
  clientAuth: ClientAuth;
  /** ALPN protocols offered, in preference order: ['h2'] for gRPC, ['h2', 'http/1.1'] for HTTP. */
  alpn: readonly string[];
  log: Logger;
  /** What the listener is, in logs: "xDS server", "ext_proc server", "listener default/gw/https". */
  purpose: string;
  onConnection: (socket: TLSSocket) => void;
  /** Every refused handshake or peer (metrics, tests); also logged, at most once per reason per 10 s. */
  onRefused?: (err: GatehouseError) => void;
  /** Longest a handshake may take (default 10 s, Envoy's transport_socket_connect_timeout is 10 s too). */
  handshakeTimeoutMs?: number;
}

const logEveryMs = 10_000;

/** Why a handshake failed, in words, with the policy when it is a version or cipher mismatch. */
function handshakeReason(err: Error & { code?: string }, policy: TlsPolicy): string {
  const text = `${err.code ?? ''} ${err.message}`;
  if (/unsupported protocol|protocol version|wrong version number|version too low|version too high/i.test(text)) {
    return `no common TLS version (this side accepts ${policy.minVersion} to ${policy.maxVersion}): ${err.message}`;
  }
  if (/no shared cipher|handshake failure|no cipher/i.test(text)) return `no common cipher suite: ${err.message}`;
  return err.message;
}

export class TlsListener {
  readonly server: Server;
  private readonly options: TlsListenerOptions;
  private policy: TlsPolicy;
  private source: MaterialSource;
  private clientAuth: ClientAuth;
  private unsubscribe: () => void;
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(options: TlsListenerOptions) {
    this.options = options;
    this.policy = options.policy;
    this.source = options.source;
    this.clientAuth = options.clientAuth;
    this.server = createServer({
      ...secureContextOptions(options.source.current(), options.policy),
      requestCert: options.clientAuth !== 'none',
      // Verified in onSecure, so that the refusal can name the certificate's issuer.
      rejectUnauthorized: false,
      ALPNProtocols: [...options.alpn],
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    });
    this.server.on('secureConnection', (socket: TLSSocket) => this.onSecure(socket));
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      // A probe that connects and closes (TCP health checks) is not worth a log line.
      if (err.code === 'ECONNRESET' || /socket disconnected|socket hang up/i.test(err.message)) return;
      this.refuse(new TlsHandshakeError(peer, handshakeReason(err, this.policy), err), 'warn');
    });
    this.unsubscribe = options.source.onChange(() => this.refresh());
  }

  /** Resolves to the bound port (0 picks one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** New settings (an updated listener): they apply to new handshakes, as a new certificate does. */
  update(settings: { source: MaterialSource; policy: TlsPolicy; clientAuth: ClientAuth }): void {
    if (settings.source !== this.source) {
      this.unsubscribe();
      this.source = settings.source;
      this.unsubscribe = settings.source.onChange(() => this.refresh());
    }
    this.policy = settings.policy;
    this.clientAuth = settings.clientAuth;
    // Read per connection by Node's TLS server.
    (this.server as Server & { requestCert: boolean }).requestCert = settings.clientAuth !== 'none';
    this.refresh();
  }

  /**
   * Stops accepting, at once; open connections are left to their owner (the gRPC or HTTP server
   * drains them), so this does not wait for them as net.Server.close's callback would.
   */
  close(): Promise<void> {
    this.unsubscribe();
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }

  private refresh(): void {
    try {
      this.server.setSecureContext(secureContextOptions(this.source.current(), this.policy));
    } catch (err) {
      // Material is checked before it is announced, so this is a policy the TLS library refuses.
      this.options.log.error(
        { purpose: this.options.purpose, err: (err as Error).message },
        'cannot apply new TLS settings; keeping the previous ones',
      );
    }
  }

  private onSecure(socket: TLSSocket): void {
    if (this.clientAuth !== 'none') {
      const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      const err = verifyPeer(socket, { peer, requireCertificate: this.clientAuth === 'required' });
      if (err) {
        socket.destroy();
        this.refuse(err, 'error');
        return;
      }
      const certificate = peerSummary(socket);
      if (certificate)
        this.options.log.debug(
          { purpose: this.options.purpose, remote: peer, peer: certificate },
          'client certificate accepted',
        );
    }
    this.options.onConnection(socket);
  }

  /** Logs a refusal once per reason code per 10 s, with how many were not logged in between. */
  private refuse(err: GatehouseError, level: 'warn' | 'error'): void {
    this.options.onRefused?.(err);
    const now = Date.now();
    const key = err.code;
    const last = this.lastLogged.get(key);
    if (last && now - last.at < logEveryMs) {
      last.suppressed++;
      return;
    }
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    this.options.log[level](
      {
        purpose: this.options.purpose,
        code: err.code,
        reason: err.message,
        ...(last?.suppressed ? { alsoRefusedSinceLastLog: last.suppressed } : {}),
      },
      `${this.options.purpose}: TLS connection refused`,
    );
  }
}
