// Test PKI for the TLS suites, made with @peculiar/x509: CAs (the cluster's, a second one for
// rotation, an intercepting proxy's) and leaf certificates with chosen SANs, serials and lifetimes.
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCa {
  name: string;
  cert: string;
  keys: CryptoKeyPair;
  certificate: x509.X509Certificate;
}

export interface TestLeaf {
  cert: string;
  key: string;
  /** Upper-case hex, as Node's X509Certificate.serialNumber and PeerCertificate.serialNumber print it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

const randomSerial = () => `7${randomBytes(8).toString('hex').slice(1)}`.toUpperCase();

function keyPem(keys: CryptoKeyPair): string {
  return KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export async function createCa(commonName: string, lifetimeMs = 24 * 3600_000): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + lifetimeMs),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name: commonName, cert: certificate.toString('pem'), keys, certificate };
}

export interface LeafOptions {
  dns?: string[];
  ip?: string[];
  /** Valid from `notBefore` (default a minute ago) for `lifetimeMs` (default a day). */
  notBefore?: Date;
  lifetimeMs?: number;
}

/** A leaf for both TLS server and client use (the components' certificates serve and dial). */
export async function issueLeaf(ca: TestCa, commonName: string, o: LeafOptions = {}): Promise<TestLeaf> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const serial = randomSerial();
  const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (o.lifetimeMs ?? 24 * 3600_000));
  const sans = [
    ...(o.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${commonName}`,
    issuer: ca.certificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  return { cert: certificate.toString('pem'), key: keyPem(keys), serial, notBefore, notAfter };
}

/** A trust bundle of several CAs (rotation overlap), one PEM block per line as cert-manager writes them. */
export const bundle = (...cas: TestCa[]) => cas.map((c) => `${c.cert.trimEnd()}\n`).join('');
