// TLS failures, one class per kind (docs/architecture.md#tests-and-quality-bars). Messages name files, certificate subjects, issuers
// and serial numbers; never key material or certificate bytes.
import { GatehouseError } from '../errors.ts';

/** A certificate, key or CA file that cannot be read. */
export class TlsFileError extends GatehouseError {
  readonly file: string;

  constructor(file: string, cause: unknown) {
    super('GH_ERR_TLS_FILE', `cannot read ${file}: ${(cause as Error).message}`, { cause });
    this.file = file;
  }
}

/** Material that does not parse or load: not PEM, no certificate, an unreadable key. */
export class TlsMaterialError extends GatehouseError {
  /** The file or secret name the material came from. */
  readonly source: string;

  constructor(source: string, reason: string) {
    super('GH_ERR_TLS_MATERIAL', `${source}: ${reason}`);
    this.source = source;
  }
}

/** A private key that is not the key of the certificate it is paired with. */
export class TlsKeyMismatchError extends GatehouseError {
  readonly source: string;

  constructor(source: string, subject: string) {
    super('GH_ERR_TLS_KEY_MISMATCH', `${source}: the private key does not match the certificate (${subject})`);
    this.source = source;
  }
}

/** TLS settings that cannot work: an unknown version, min above max, an unknown cipher suite. */
export class TlsPolicyError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TLS_POLICY', message, { exitCode: 2 });
  }
}

/**
 * The peer's certificate chains to no CA we trust: an intercepting proxy, a certificate from
 * another cluster's CA, a CA rotated out too early. The message names the issuer.
 */
export class UnknownAuthorityError extends GatehouseError {
  readonly issuer: string;

  constructor(peer: string, issuer: string, subject: string, detail: string) {
    super(
      'GH_ERR_TLS_UNKNOWN_AUTHORITY',
      `${peer}: certificate signed by unknown authority: issuer ${issuer} (subject ${subject}; ${detail})`,
    );
    this.issuer = issuer;
  }
}

/** The peer's certificate is for another name or address than the one dialled (or the SANs configured). */
export class PeerNameMismatchError extends GatehouseError {
  constructor(peer: string, expected: string, sans: string, issuer: string) {
    super(
      'GH_ERR_TLS_PEER_NAME_MISMATCH',
      `${peer}: certificate is not valid for ${expected}: its names are ${sans || 'none'} (issuer ${issuer})`,
    );
  }
}

/** mTLS: the peer presented no certificate although one is required. */
export class PeerCertificateRequiredError extends GatehouseError {
  constructor(peer: string) {
    super('GH_ERR_TLS_PEER_CERT_REQUIRED', `${peer}: a client certificate is required and none was presented`);
  }
}

/** The peer's certificate chains to a trusted CA but is not valid: expired, not yet valid, revoked, misused. */
export class PeerCertificateInvalidError extends GatehouseError {
  readonly reason: string;

  constructor(peer: string, reason: string, subject: string, issuer: string) {
    super(
      'GH_ERR_TLS_PEER_CERT_INVALID',
      `${peer}: certificate rejected (${reason}): subject ${subject}, issuer ${issuer}`,
    );
    this.reason = reason;
  }
}

/** The handshake itself failed: no common protocol version or cipher suite, a reset, a timeout. */
export class TlsHandshakeError extends GatehouseError {
  constructor(peer: string, reason: string, cause?: unknown) {
    super(
      'GH_ERR_TLS_HANDSHAKE',
      `${peer}: TLS handshake failed: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }
}
