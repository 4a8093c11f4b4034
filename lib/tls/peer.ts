// Verifying the peer of a finished handshake ourselves, so that a refusal says why in terms an
// operator can act on: "certificate signed by unknown authority: issuer CN=Intercepting Proxy CA"
// rather than OpenSSL's "unable to verify the first certificate". Node is told not to reject (it
// would destroy the socket before we could read the certificate); the socket is destroyed here before
// a single application byte is read from or written to it.
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { GatehouseError } from '../errors.ts';
import {
  PeerCertificateInvalidError,
  PeerCertificateRequiredError,
  PeerNameMismatchError,
  UnknownAuthorityError,
} from './errors.ts';
import { formatName } from './material.ts';

/** Envoy's SAN matcher types; values matched exactly (DNS SANs of the certificate may be wildcards). */
export interface SanMatcher {
  type: 'DNS' | 'IP_ADDRESS' | 'URI' | 'EMAIL';
  exact: string;
}

export interface PeerCheck {
  /** The peer, for messages: "127.0.0.1:18000", "xds gatehouse-xds.ns.svc:18000". */
  peer: string;
  /** mTLS servers: a missing certificate is an error. Clients always require one. */
  requireCertificate: boolean;
  /** Clients: the name or IP address dialled, checked against the certificate's SANs (RFC 6125). */
  expectedName?: string;
  /** Envoy-style: any one of these must match a SAN (instead of expectedName). */
  subjectAltNames?: readonly SanMatcher[];
}

/** OpenSSL verify results that mean "no trusted CA issued this". */
const unknownAuthority = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

const hasCertificate = (cert: PeerCertificate | null | undefined): cert is PeerCertificate =>
  !!cert && Object.keys(cert).length > 0;

export function normalizeIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.replace(/^\[|\]$/g, '') : ip;
}

function sanEntries(cert: PeerCertificate): Array<{ type: string; value: string }> {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(':');
      return { type: entry.slice(0, i), value: entry.slice(i + 1) };
    });
}

/** A DNS SAN of the certificate (possibly "*.example.com") covers `name`. */
function dnsMatches(san: string, name: string): boolean {
  const s = san.toLowerCase();
  const n = name.toLowerCase();
  if (!s.startsWith('*.')) return s === n;
  const rest = n.indexOf('.');
  return rest > 0 && n.slice(rest) === s.slice(1);
}

export function sanMatches(cert: PeerCertificate, matchers: readonly SanMatcher[]): boolean {
  const sans = sanEntries(cert);
  return matchers.some((m) =>
    sans.some((s) => {
      switch (m.type) {
        case 'DNS':
          return s.type === 'DNS' && dnsMatches(s.value, m.exact);
        case 'IP_ADDRESS':
          return s.type === 'IP Address' && normalizeIp(s.value) === normalizeIp(m.exact);
        case 'URI':
          return s.type === 'URI' && s.value === m.exact;
        case 'EMAIL':
          return s.type === 'email' && s.value.toLowerCase() === m.exact.toLowerCase();
      }
    }),
  );
}

/** The error that refuses this peer, or undefined when it is acceptable. */
export function verifyPeer(socket: TLSSocket, check: PeerCheck): GatehouseError | undefined {
  const cert = socket.getPeerCertificate(false);
  if (!hasCertificate(cert)) return check.requireCertificate ? new PeerCertificateRequiredError(check.peer) : undefined;
  const issuer = formatName(cert.issuer);
  const subject = formatName(cert.subject);
  if (!socket.authorized) {
    const raw = socket.authorizationError as unknown;
    const code =
      typeof raw === 'string'
        ? raw
        : ((raw as { code?: string; message?: string } | null)?.code ??
          (raw as Error | null)?.message ??
          'not authorized');
    if (unknownAuthority.has(code)) return new UnknownAuthorityError(check.peer, issuer, subject, code);
    return new PeerCertificateInvalidError(check.peer, code, subject, issuer);
  }
  if (check.subjectAltNames && check.subjectAltNames.length > 0) {
    if (!sanMatches(cert, check.subjectAltNames)) {
      return new PeerNameMismatchError(
        check.peer,
        check.subjectAltNames.map((m) => `${m.type}:${m.exact}`).join(' or '),
        cert.subjectaltname ?? '',
        issuer,
      );
    }
  } else if (check.expectedName !== undefined) {
    // Node's own RFC 6125 check: DNS names against DNS SANs (wildcards), IP addresses against IP SANs only.
    if (checkServerIdentity(check.expectedName, cert) !== undefined) {
      return new PeerNameMismatchError(check.peer, check.expectedName, cert.subjectaltname ?? '', issuer);
    }
  }
  return undefined;
}

/** Subject, issuer and serial of the peer, for debug logs and tests. */
export function peerSummary(socket: TLSSocket): { subject: string; issuer: string; serialNumber: string } | undefined {
  const cert = socket.getPeerCertificate(false);
  if (!hasCertificate(cert)) return undefined;
  return { subject: formatName(cert.subject), issuer: formatName(cert.issuer), serialNumber: cert.serialNumber };
}
