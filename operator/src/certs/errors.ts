// Failures of certificate issuance, one class per kind with a stable code. Messages name Secrets,
// subjects and fingerprints, never key material.
import { GatehouseError } from '../../../lib/errors.ts';

/** A PEM block that is not a certificate or key we can read (bad encoding, no block, too large). */
export class CertificateParseError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_CERTS_PARSE', message, { cause });
  }
}

/** A CA we cannot sign with: not a CA, key does not match, unsupported key type, expired. */
export class CertificateAuthorityError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_CERTS_CA', message, { cause });
  }
}

/** Issuing a certificate failed (the signing operation, or the requested names are unusable). */
export class CertificateIssueError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_CERTS_ISSUE', message, { cause });
  }
}

/** Writing a certificate Secret to the apiserver failed; the reconcile retries with backoff. */
export class CertificateSecretWriteError extends GatehouseError {
  readonly secret: string;

  constructor(secret: string, message: string, cause?: unknown) {
    super('GH_ERR_CERTS_SECRET_WRITE', `${secret}: ${message}`, { cause });
    this.secret = secret;
  }
}

/** Something a reconcile reads is not in the caches yet (a user CA Secret's informer has not listed); retried with backoff. */
export class CertificateSourceNotReadyError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_CERTS_NOT_READY', message);
  }
}

/** --xds-tls issued without the certificates controller (it runs with --manage-dataplanes). Exit 2. */
export class XdsTlsUnavailableError extends GatehouseError {
  constructor() {
    super(
      'GH_ERR_XDS_TLS_UNAVAILABLE',
      'the xDS server cannot serve issued certificates without the certificates controller: use --manage-dataplanes true, or --tls-cert/--tls-key files',
      { exitCode: 2 },
    );
  }
}
