// One client TLS connection with the material current at the moment it is made (a renewed client
// certificate or trust bundle applies to the next connection; open ones keep theirs), verified by us
// after the handshake so that a refusal names the peer certificate's issuer. The socket is handed over
// only once verified: nothing is written to an unverified peer.
import { isIP, type Socket } from 'node:net';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { GatehouseError } from '../errors.ts';
import { TlsHandshakeError, TlsMaterialError } from './errors.ts';
import type { TlsMaterial } from './material.ts';
import { verifyPeer, type SanMatcher } from './peer.ts';
import { defaultTlsPolicy, secureContextOptions, type TlsPolicy } from './policy.ts';
import type { MaterialSource } from './watcher.ts';

export interface ClientTlsOptions {
  /** The CA bundle to trust (required unless verify is false) and, for mTLS, the client certificate and key. */
  source: MaterialSource;
  policy?: TlsPolicy;
  /** The name or address dialled, checked against the certificate (RFC 6125) unless subjectAltNames is given. */
  serverName?: string;
  /** SNI to send; default serverName when it is a DNS name (an IP address is never sent as SNI, RFC 6066). */
  sni?: string;
  /** Envoy-style SAN matchers: the certificate must have one of them (and serverName is then not checked). */
  subjectAltNames?: readonly SanMatcher[];
  /** false: no verification at all (Envoy's upstream default without a validation context). */
  verify?: boolean;
  alpn?: readonly string[];
  handshakeTimeoutMs?: number;
}

export interface ConnectTarget {
  /** An established TCP socket to run TLS over (gRPC's connector), or host and port to dial. */
  socket?: Socket;
  host?: string;
  port?: number;
  /** For messages: what is being dialled. */
  peer: string;
}

/** Secure contexts built per material and policy, so a thousand connections do not parse PEM a thousand times. */
const contexts = new WeakMap<TlsMaterial, Map<string, SecureContext>>();

function contextFor(material: TlsMaterial | undefined, policy: TlsPolicy): SecureContext {
  const key = JSON.stringify(policy);
  if (!material) return createSecureContext(secureContextOptions(undefined, policy));
  let byPolicy = contexts.get(material);
  if (!byPolicy) contexts.set(material, (byPolicy = new Map<string, SecureContext>()));
  let context = byPolicy.get(key);
  if (!context) byPolicy.set(key, (context = createSecureContext(secureContextOptions(material, policy))));
  return context;
}

/** Resolves to a verified TLS socket, or rejects with a TlsHandshakeError or a peer verification error. */
export function secureConnect(target: ConnectTarget, options: ClientTlsOptions): Promise<TLSSocket> {
  const verify = options.verify ?? true;
  const material = options.source.current();
  if (verify && !material?.ca)
    return Promise.reject(new TlsMaterialError(target.peer, 'no CA bundle to verify the server with'));
  const policy = options.policy ?? defaultTlsPolicy;
  const sni =
    options.sni ??
    (options.serverName !== undefined && isIP(options.serverName) === 0 ? options.serverName : undefined);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: GatehouseError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    let socket: TLSSocket;
    try {
      socket = connect({
        ...(target.socket ? { socket: target.socket } : { host: target.host, port: target.port }),
        secureContext: contextFor(material, policy),
        ...(sni ? { servername: sni } : {}),
        ALPNProtocols: [...(options.alpn ?? ['h2'])],
        // Verified below, so that a refusal can say who issued the certificate.
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
    } catch (err) {
      reject(new TlsHandshakeError(target.peer, (err as Error).message, err));
      return;
    }
    const timer = setTimeout(
      () => fail(new TlsHandshakeError(target.peer, `no handshake within ${options.handshakeTimeoutMs ?? 10_000} ms`)),
      options.handshakeTimeoutMs ?? 10_000,
    );
    socket.once('secureConnect', () => {
      if (settled) return;
      const err = verify
        ? verifyPeer(socket, {
            peer: target.peer,
            requireCertificate: true,
            expectedName: options.serverName,
            subjectAltNames: options.subjectAltNames,
          })
        : undefined;
      if (err) return fail(err);
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (err: Error & { code?: string }) => {
      const text = `${err.code ?? ''} ${err.message}`;
      const reason =
        /alert protocol version|unsupported protocol|wrong version number|version too low|version too high/i.test(text)
          ? `no common TLS version (this side offers ${policy.minVersion} to ${policy.maxVersion}): ${err.message}`
          : /alert unknown ca|alert bad certificate|alert certificate required|alert certificate unknown/i.test(text)
            ? `the server refused our client certificate${material?.leaf ? ` (issued by ${material.leaf.issuer})` : ''}: ${err.message}`
            : err.message;
      fail(new TlsHandshakeError(target.peer, reason, err));
    };
    socket.on('error', onError);
    socket.once('close', () => fail(new TlsHandshakeError(target.peer, 'connection closed during the handshake')));
  });
}
