// X.509 for the certificates Gatehouse issues: a CA, leaf certificates (DNS, IP and URI SANs,
// serverAuth/clientAuth), and reading what a Secret holds. Certificates are built by @peculiar/x509
// (no hand-written ASN.1); parsing, signature checks and key matching go through Node's OpenSSL
// (crypto.X509Certificate), which is synchronous, so the planner can stay a pure function.
// Keys are ECDSA P-256; a user's CA may also be RSA, P-384/P-521 or Ed25519.
import {
  X509Certificate as NativeCertificate,
  createPrivateKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { CertificateAuthorityError, CertificateIssueError, CertificateParseError } from './errors.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Crypto = Parameters<typeof x509.cryptoProvider.set>[0];

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export type Usage = 'serverAuth' | 'clientAuth';

/** What the planner needs to know about one certificate; `native` is for signature and key checks. */
export interface CertInfo {
  /** This one certificate as PEM. */
  pem: string;
  /** SHA-256 of the DER, lowercase hex without separators. */
  fingerprint: string;
  subject: string;
  commonName: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints cA. */
  isCa: boolean;
  selfSigned: boolean;
  dns: string[];
  ips: string[];
  uris: string[];
  /** Extended key usages: 'serverAuth', 'clientAuth' or the OID of any other. Empty when absent. */
  usages: string[];
  native: NativeCertificate;
}

export interface PemPair {
  /** The certificate, followed by the chain up to (not including) the trust anchor. */
  certPem: string;
  /** PKCS#8. */
  keyPem: string;
}

/** A CA that can sign: its certificate, its key, and what to send after a leaf it signs. */
export interface Signer {
  cert: CertInfo;
  key: KeyObject;
  /** Intermediates between a leaf and the trust anchor (the signer itself when it is not self-signed). */
  chain: CertInfo[];
}

export interface LeafRequest {
  commonName: string;
  dns: string[];
  ips: string[];
  uris: string[];
  usages: Usage[];
  notBefore: Date;
  notAfter: Date;
}

const ecP256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** A Secret value is at most 1 MiB; a PEM field with more certificates than this is not ours. */
const maxPemBytes = 256 * 1024;
const maxCertificates = 64;
/** X.520 ub-common-name: the SANs carry the full names. */
const maxCommonName = 64;

const usageOids: Record<Usage, string> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};
const usageNames = new Map<string, string>(Object.entries(usageOids).map(([name, oid]) => [oid, name]));

// ---------------------------------------------------------------- reading

/** The PEM blocks of one type in a text, in order. */
function pemBlocks(text: string, label: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  for (const m of text.matchAll(re)) blocks.push(`${m[0]}\n`);
  return blocks;
}

const parsed = new Map<string, CertInfo[] | CertificateParseError>();
const maxMemo = 2048;

/**
 * Every certificate of a PEM text (a leaf and its chain, or a bundle), in order. Throws
 * CertificateParseError when there is none or one does not parse. Memoised on the text: Secrets are
 * read on every reconcile and rarely change.
 */
export function parseCertificates(pem: string): CertInfo[] {
  const memo = parsed.get(pem);
  if (memo instanceof Error) throw memo;
  if (memo) return memo;
  let result: CertInfo[] | CertificateParseError;
  try {
    result = parseUncached(pem);
  } catch (err) {
    result = err instanceof CertificateParseError ? err : new CertificateParseError((err as Error).message, err);
  }
  if (parsed.size >= maxMemo) parsed.delete(parsed.keys().next().value!);
  parsed.set(pem, result);
  if (result instanceof Error) throw result;
  return result;
}

function parseUncached(pem: string): CertInfo[] {
  if (Buffer.byteLength(pem) > maxPemBytes) throw new CertificateParseError(`more than ${maxPemBytes} bytes of PEM`);
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0) throw new CertificateParseError('no PEM CERTIFICATE block');
  if (blocks.length > maxCertificates) throw new CertificateParseError(`more than ${maxCertificates} certificates`);
  return blocks.map((block, i) => {
    try {
      return describe(block);
    } catch (err) {
      throw new CertificateParseError(`certificate ${i + 1} does not parse: ${(err as Error).message}`, err);
    }
  });
}

function describe(pem: string): CertInfo {
  // OpenSSL first: it rejects malformed DER before the ASN.1 library walks it.
  const native = new NativeCertificate(pem);
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san ? san.names.items.map((n) => n.toJSON()) : [];
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    pem,
    fingerprint: native.fingerprint256.replaceAll(':', '').toLowerCase(),
    subject: cert.subject,
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: basic?.ca === true,
    selfSigned: native.checkIssued(native) && verifies(native, native),
    dns: names.filter((n) => n.type === 'dns').map((n) => normaliseDns(n.value)),
    ips: names.filter((n) => n.type === 'ip').map((n) => normaliseIp(n.value)),
    uris: names.filter((n) => n.type === 'url').map((n) => n.value),
    usages: (eku?.usages ?? []).map((u) => usageNames.get(String(u)) ?? String(u)),
    native,
  };
}

function verifies(cert: NativeCertificate, by: NativeCertificate): boolean {
  try {
    return cert.verify(by.publicKey);
  } catch {
    return false;
  }
}

/** Whether `ca` issued `cert`: names and key identifiers match (OpenSSL's check) and the signature verifies. */
export function isSignedBy(cert: CertInfo, ca: CertInfo): boolean {
  return cert.native.checkIssued(ca.native) && verifies(cert.native, ca.native);
}

/**
 * The anchor a chain (leaf first, then intermediates) leads to, or undefined. Signatures only:
 * validity periods are the caller's business.
 */
export function chainAnchor(chain: CertInfo[], anchors: readonly CertInfo[]): CertInfo | undefined {
  let current: CertInfo | undefined = chain[0];
  const rest = chain.slice(1);
  for (let depth = 0; current && depth <= rest.length; depth++) {
    const cert: CertInfo = current;
    const anchor = anchors.find((a) => isSignedBy(cert, a));
    if (anchor) return anchor;
    current = rest.find((c) => c !== cert && c.isCa && isSignedBy(cert, c));
  }
  return undefined;
}

/** Whether a PEM private key belongs to the certificate. False for a key that does not parse. */
export function keyMatches(cert: CertInfo, keyPem: string): boolean {
  try {
    return cert.native.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** "CN (sha256 0123abcd4567)": how messages name a certificate. */
export function certificateLabel(cert: CertInfo): string {
  return `${cert.commonName || cert.subject} (sha256 ${cert.fingerprint.slice(0, 12)})`;
}

export function normaliseDns(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** The canonical text of an IP address (IPv6 compressed, lowercase); the input when it is not one. */
export function normaliseIp(ip: string): string {
  const bare = ip.trim().replace(/^\[|\]$/g, '');
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return bare;
}

// ---------------------------------------------------------------- signing

/**
 * A CA certificate and key as a Signer, after checking that it can sign: a CA certificate, a key
 * that matches it, a key type we can sign with. `chainPem` are the certificates that follow the CA in
 * its own Secret (cert-manager's intermediates), sent after a leaf when the CA is not self-signed.
 */
export function loadSigner(certPem: string, keyPem: string): Signer {
  const certs = parseCertificates(certPem);
  const cert = certs[0];
  if (cert === undefined) throw new CertificateParseError('no PEM CERTIFICATE block'); // parseCertificates never returns none
  if (!cert.isCa)
    throw new CertificateAuthorityError(
      `${certificateLabel(cert)} is not a CA certificate (basicConstraints cA is not set)`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertificateAuthorityError('the CA private key does not parse', err);
  }
  if (!cert.native.checkPrivateKey(key))
    throw new CertificateAuthorityError(`the CA private key does not belong to ${certificateLabel(cert)}`);
  signingAlgorithm(key);
  return { cert, key, chain: cert.selfSigned ? [] : certs };
}

/** WebCrypto algorithm (import and signature) for a CA key. */
function signingAlgorithm(key: KeyObject): {
  import: Parameters<KeyObject['toCryptoKey']>[0];
  sign: webcrypto.Algorithm | webcrypto.EcdsaParams;
} {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const byCurve: Record<string, [string, string]> = {
      prime256v1: ['P-256', 'SHA-256'],
      secp384r1: ['P-384', 'SHA-384'],
      secp521r1: ['P-521', 'SHA-512'],
    };
    const found = curve ? byCurve[curve] : undefined;
    if (!found)
      throw new CertificateAuthorityError(
        `the CA key's curve ${curve ?? '(unknown)'} is not supported (P-256, P-384 or P-521)`,
      );
    return { import: { name: 'ECDSA', namedCurve: found[0] }, sign: { name: 'ECDSA', hash: found[1] } };
  }
  if (type === 'rsa') {
    return {
      import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    };
  }
  if (type === 'ed25519') return { import: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  throw new CertificateAuthorityError(`the CA key type ${type ?? '(unknown)'} is not supported (EC, RSA or Ed25519)`);
}

/** A random positive 128-bit serial (RFC 5280: at most 20 octets, positive, unpredictable). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ecP256, true, ['sign', 'verify']);
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

const truncate = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n));

/** A self-signed CA: basicConstraints cA (path length 0: it signs leaves only), keyCertSign, SKI/AKI. */
export async function createCa(options: { commonName: string; notBefore: Date; notAfter: Date }): Promise<PemPair> {
  const keys = await newKeys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [truncate(options.commonName, maxCommonName)] }, { O: ['Gatehouse'] }],
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      signingAlgorithm: ecP256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await pkcs8Pem(keys.privateKey) };
}

/** A leaf certificate with a fresh P-256 key, signed by `signer`; its PEM carries the chain after it. */
export async function issueCertificate(signer: Signer, request: LeafRequest): Promise<PemPair> {
  if (request.usages.length === 0) throw new CertificateIssueError('a certificate needs at least one usage');
  if (request.dns.length + request.ips.length + request.uris.length === 0)
    throw new CertificateIssueError('a certificate needs at least one subject alternative name');
  for (const ip of request.ips) if (isIP(ip) === 0) throw new CertificateIssueError(`"${ip}" is not an IP address`);
  const keys = await newKeys();
  const algorithm = signingAlgorithm(signer.key);
  let signingKey: CryptoKey;
  try {
    signingKey = signer.key.toCryptoKey(algorithm.import, false, ['sign']);
  } catch (err) {
    throw new CertificateAuthorityError('the CA key cannot be used for signing', err);
  }
  const caSki = new x509.X509Certificate(signer.cert.pem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const aki = caSki
    ? new x509.AuthorityKeyIdentifierExtension(caSki)
    : await x509.AuthorityKeyIdentifierExtension.create(
        signer.cert.native.publicKey.export({ type: 'spki', format: 'der' }),
        false,
        crypto,
      );
  const names = [
    ...request.dns.map((value) => ({ type: 'dns' as const, value })),
    ...request.ips.map((value) => ({ type: 'ip' as const, value })),
    ...request.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  try {
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: randomSerial(),
        subject: [{ CN: [truncate(request.commonName, maxCommonName)] }, { O: ['Gatehouse'] }],
        issuer: new x509.X509Certificate(signer.cert.pem).subjectName,
        notBefore: request.notBefore,
        notAfter: request.notAfter,
        signingAlgorithm: algorithm.sign,
        publicKey: keys.publicKey,
        signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          // ECDHE key exchange: the leaf key only signs, so digitalSignature alone.
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(request.usages.map((u) => usageOids[u])),
          new x509.SubjectAlternativeNameExtension(names),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          aki,
        ],
      },
      crypto,
    );
    const chain = signer.chain.map((c) => c.pem).join('');
    return { certPem: cert.toString('pem') + '\n' + chain, keyPem: await pkcs8Pem(keys.privateKey) };
  } catch (err) {
    throw new CertificateIssueError(
      `cannot sign a certificate for ${request.commonName}: ${(err as Error).message}`,
      err,
    );
  }
}
