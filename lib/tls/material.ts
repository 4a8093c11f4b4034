// TLS material (a certificate chain with its key, and/or a CA bundle), checked before anyone uses it:
// every PEM block parses, the key is the certificate's key, Node can build a secure context from the
// pair. What callers log is the summary (subject, issuer, serial, validity), never the bytes.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext, type PeerCertificate } from 'node:tls';
import { TlsKeyMismatchError, TlsMaterialError } from './errors.ts';

export interface CertSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** "DNS:a, IP Address:127.0.0.1" as OpenSSL prints it; empty when none. */
  subjectAltNames: string;
  fingerprint256: string;
}

export interface TlsMaterial {
  /** PEM chain, leaf first (re-encoded: one block per line). */
  cert?: Buffer;
  key?: Buffer;
  /** PEM trust bundle (one or more CA certificates; re-encoded: one block per line). */
  ca?: Buffer;
  leaf?: CertSummary;
  authorities: CertSummary[];
}

/** Where each piece came from, for error messages: file paths or SDS secret names. */
export interface MaterialSources {
  cert?: string;
  key?: string;
  ca?: string;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** An X.509 name as one line, "CN=Intercepting Proxy CA, O=Example", from either Node representation. */
export function formatName(name: string | PeerCertificate['issuer'] | undefined): string {
  if (name === undefined) return 'unknown';
  if (typeof name === 'string') return name.split('\n').filter(Boolean).join(', ') || 'empty';
  const parts = Object.entries(name).flatMap(([k, v]) =>
    Array.isArray(v) ? v.map((x) => `${k}=${String(x)}`) : [`${k}=${String(v)}`],
  );
  return parts.join(', ') || 'empty';
}

export function summarize(cert: X509Certificate): CertSummary {
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    subjectAltNames: cert.subjectAltName ?? '',
    fingerprint256: cert.fingerprint256,
  };
}

/** Every certificate of a PEM text; throws TlsMaterialError naming `source` when there is none or one is bad. */
export function parseCertificates(pem: Buffer, source: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(pemCertificate) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(source, 'no PEM certificate found');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsMaterialError(source, `certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

function privateKey(pem: Buffer, source: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // OpenSSL's reason ("unsupported", "bad decrypt") carries no key bytes.
    throw new TlsMaterialError(source, `not a usable private key: ${(err as Error).message}`);
  }
}

/**
 * The certificates as PEM, one block per line. Bundles made by concatenating files without a final
 * newline ("...-----END CERTIFICATE----------BEGIN CERTIFICATE-----...") are read by OpenSSL as far as
 * the first block only: a CA added for rotation would silently not be trusted.
 */
function reencode(certs: readonly X509Certificate[]): Buffer {
  return Buffer.from(certs.map((c) => c.toString().trimEnd()).join('\n') + '\n');
}

/**
 * Checks material before it is used: certificate and key are given together, every certificate
 * parses, the key matches the leaf, and Node loads the pair and the bundle. Throws the first problem
 * (TlsMaterialError or TlsKeyMismatchError) naming its source. Certificates come back re-encoded
 * (reencode), so what is used is exactly what was checked.
 */
export function validateMaterial(
  input: { cert?: Buffer; key?: Buffer; ca?: Buffer },
  sources: MaterialSources = {},
): TlsMaterial {
  const names = {
    cert: sources.cert ?? 'certificate',
    key: sources.key ?? 'private key',
    ca: sources.ca ?? 'CA bundle',
  };
  if ((input.cert === undefined) !== (input.key === undefined)) {
    throw new TlsMaterialError(input.cert ? names.cert : names.key, 'a certificate and its private key go together');
  }
  const out: TlsMaterial = { authorities: [] };
  if (input.cert && input.key) {
    const chain = parseCertificates(input.cert, names.cert);
    const key = privateKey(input.key, names.key);
    const leaf = chain[0]!;
    if (!leaf.checkPrivateKey(key)) throw new TlsKeyMismatchError(names.key, formatName(leaf.subject));
    const cert = reencode(chain);
    try {
      createSecureContext({ cert, key: input.key });
    } catch (err) {
      throw new TlsMaterialError(names.cert, `the pair does not load: ${(err as Error).message}`);
    }
    Object.assign(out, { cert, key: input.key, leaf: summarize(leaf) });
  }
  if (input.ca) {
    const authorities = parseCertificates(input.ca, names.ca);
    const ca = reencode(authorities);
    try {
      createSecureContext({ ca });
    } catch (err) {
      throw new TlsMaterialError(names.ca, `the bundle does not load: ${(err as Error).message}`);
    }
    Object.assign(out, { ca, authorities: authorities.map(summarize) });
  }
  return out;
}

/** Whether two loads carry the same bytes (a touched but unchanged file is not a reload). */
export function sameMaterial(a: TlsMaterial | undefined, b: TlsMaterial): boolean {
  const eq = (x: Buffer | undefined, y: Buffer | undefined) =>
    x === undefined ? y === undefined : y !== undefined && x.equals(y);
  return a !== undefined && eq(a.cert, b.cert) && eq(a.key, b.key) && eq(a.ca, b.ca);
}
