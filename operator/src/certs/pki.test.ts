import type { webcrypto } from 'node:crypto';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { CertificateAuthorityError, CertificateParseError } from './errors.ts';
import {
  chainAnchor,
  createCa,
  isSignedBy,
  issueCertificate,
  keyMatches,
  loadSigner,
  normaliseIp,
  parseCertificates,
  randomSerial,
  type Signer,
} from './pki.ts';

const day = 86_400_000;
const now = () => new Date();

async function ca(commonName = 'test CA') {
  const pem = await createCa({
    commonName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * day),
  });
  return { pem, signer: loadSigner(pem.certPem, pem.keyPem) };
}

/** A CA made outside our code (as cert-manager would): RSA, with a chosen key, self-signed or signed by `parent`. */
async function foreignCa(name: string, parent?: { cert: x509.X509Certificate; key: webcrypto.CryptoKey }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const priv = privateKey.toCryptoKey(alg, true, ['sign']);
  const pub = publicKey.toCryptoKey(alg, true, ['verify']);
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(pub),
  ];
  const common = {
    serialNumber: randomSerial(),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * day),
    signingAlgorithm: alg,
    extensions,
  };
  const cert = parent
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: `CN=${name}`,
        issuer: parent.cert.subjectName,
        publicKey: pub,
        signingKey: parent.key,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        ...common,
        name: `CN=${name}`,
        keys: { privateKey: priv, publicKey: pub },
      });
  return {
    cert,
    key: priv,
    certPem: cert.toString('pem') + '\n',
    keyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

describe('pki', () => {
  it('creates a CA: self-signed, basicConstraints cA with path length 0 (critical), keyCertSign, key identifiers', async () => {
    const { pem, signer } = await ca('Gatehouse CA test');
    const cert = new x509.X509Certificate(pem.certPem);
    const basic = cert.getExtension(x509.BasicConstraintsExtension)!;
    expect(basic.ca).toBe(true);
    expect(basic.pathLength).toBe(0);
    expect(basic.critical).toBe(true);
    expect(cert.getExtension(x509.KeyUsagesExtension)!.usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(await cert.isSelfSigned()).toBe(true);
    expect(signer.cert.selfSigned).toBe(true);
    expect(signer.cert.commonName).toBe('Gatehouse CA test');
    expect(signer.chain).toEqual([]);
    expect(pem.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(pem.keyPem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('issues a leaf with DNS, IPv4, IPv6 and URI SANs, the usages asked for, backdated, and a chain that verifies', async () => {
    const { signer } = await ca();
    const notBefore = new Date(Date.now() - 5 * 60_000);
    const notAfter = new Date(Date.now() + day);
    const leaf = await issueCertificate(signer, {
      commonName: 'eu-extproc.prod.svc',
      dns: ['eu-extproc.prod.svc', '*.eu-extproc.prod.svc'],
      ips: ['10.0.0.7', '2001:db8::7'],
      uris: ['spiffe://gatehouse/ns/prod/dataplane/eu/extproc'],
      usages: ['serverAuth', 'clientAuth'],
      notBefore,
      notAfter,
    });
    const [info] = parseCertificates(leaf.certPem);
    expect(info!.dns).toEqual(['eu-extproc.prod.svc', '*.eu-extproc.prod.svc']);
    expect(info!.ips).toEqual(['10.0.0.7', '2001:db8::7']);
    expect(info!.uris).toEqual(['spiffe://gatehouse/ns/prod/dataplane/eu/extproc']);
    expect(info!.usages).toEqual(['serverAuth', 'clientAuth']);
    expect(info!.isCa).toBe(false);
    expect(info!.notBefore.getTime()).toBe(Math.floor(notBefore.getTime() / 1000) * 1000);
    expect(info!.notAfter.getTime()).toBe(Math.floor(notAfter.getTime() / 1000) * 1000);
    expect(info!.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(keyMatches(info!, leaf.keyPem)).toBe(true);
    expect(keyMatches(info!, (await ca()).pem.keyPem)).toBe(false);
    // Node's OpenSSL and @peculiar/x509's chain builder agree.
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(signer.cert.pem).publicKey)).toBe(true);
    const chain = await new x509.X509ChainBuilder({ certificates: [new x509.X509Certificate(signer.cert.pem)] }).build(
      new x509.X509Certificate(leaf.certPem),
    );
    expect(chain.map((c) => c.subject)).toEqual([info!.subject, signer.cert.subject]);
    const ext = new x509.X509Certificate(leaf.certPem);
    expect(ext.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      new x509.X509Certificate(signer.cert.pem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(ext.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(isSignedBy(info!, signer.cert)).toBe(true);
    expect(isSignedBy(info!, (await ca()).signer.cert)).toBe(false);
  });

  it('gives every certificate a different random serial', async () => {
    const { signer } = await ca();
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const leaf = await issueCertificate(signer, {
        commonName: 'x',
        dns: ['x'],
        ips: [],
        uris: [],
        usages: ['clientAuth'],
        notBefore: now(),
        notAfter: new Date(Date.now() + day),
      });
      serials.add(parseCertificates(leaf.certPem)[0]!.serialNumber);
    }
    expect(serials.size).toBe(5);
  });

  it('serves mutual TLS: the server certificate verifies by its IP SAN, the client certificate by the same CA', async () => {
    const { signer } = await ca();
    const times = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + day) };
    const server = await issueCertificate(signer, {
      commonName: 'server',
      dns: ['server.test'],
      ips: ['127.0.0.1'],
      uris: [],
      usages: ['serverAuth'],
      ...times,
    });
    const client = await issueCertificate(signer, {
      commonName: 'envoy',
      dns: ['envoy.test'],
      ips: [],
      uris: ['spiffe://gatehouse/ns/a/dataplane/b/envoy'],
      usages: ['clientAuth'],
      ...times,
    });
    const srv = tls.createServer(
      { cert: server.certPem, key: server.keyPem, ca: signer.cert.pem, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(peer.subjectaltname ?? '');
      },
    );
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      const { port } = srv.address() as AddressInfo;
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        cert: client.certPem,
        key: client.keyPem,
        ca: signer.cert.pem,
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      await once(socket, 'end');
      expect(socket.authorized).toBe(true);
      expect(text).toContain('URI:spiffe://gatehouse/ns/a/dataplane/b/envoy');
      // A client-only certificate cannot serve: OpenSSL checks the extended key usage.
      const bad = tls.createServer({ cert: client.certPem, key: client.keyPem });
      bad.listen(0, '127.0.0.1');
      await once(bad, 'listening');
      const s2 = tls.connect({
        host: '127.0.0.1',
        port: (bad.address() as AddressInfo).port,
        ca: signer.cert.pem,
        servername: 'envoy.test',
      });
      const [err] = (await once(s2, 'error')) as [Error & { code?: string }];
      expect(err.code).toBe('INVALID_PURPOSE');
      bad.close();
    } finally {
      srv.close();
    }
  });

  it('signs with a user CA of another key type (RSA), and sends an intermediate after the leaf', async () => {
    const root = await foreignCa('user root');
    const intermediate = await foreignCa('user intermediate', { cert: root.cert, key: root.key });
    const signer: Signer = loadSigner(intermediate.certPem + root.certPem, intermediate.keyPem);
    expect(signer.cert.selfSigned).toBe(false);
    expect(signer.chain.map((c) => c.commonName)).toEqual(['user intermediate', 'user root']);
    const leaf = await issueCertificate(signer, {
      commonName: 'x',
      dns: ['x.test'],
      ips: [],
      uris: [],
      usages: ['serverAuth'],
      notBefore: now(),
      notAfter: new Date(Date.now() + day),
    });
    const chain = parseCertificates(leaf.certPem);
    expect(chain.map((c) => c.commonName)).toEqual(['x', 'user intermediate', 'user root']);
    const rootInfo = parseCertificates(root.certPem)[0]!;
    expect(chainAnchor(chain, [rootInfo])?.fingerprint).toBe(rootInfo.fingerprint);
    expect(chainAnchor(chain, [(await ca()).signer.cert])).toBeUndefined();
  });

  it('refuses to sign with a leaf, or with a key that does not belong to the CA', async () => {
    const { signer, pem } = await ca();
    const leaf = await issueCertificate(signer, {
      commonName: 'x',
      dns: ['x'],
      ips: [],
      uris: [],
      usages: ['serverAuth'],
      notBefore: now(),
      notAfter: new Date(Date.now() + day),
    });
    expect(() => loadSigner(leaf.certPem, leaf.keyPem)).toThrow(CertificateAuthorityError);
    const other = await ca();
    expect(() => loadSigner(pem.certPem, other.pem.keyPem)).toThrow(/does not belong/);
    expect(() => loadSigner(pem.certPem, 'not a key')).toThrow(/does not parse/);
  });

  it('rejects text that holds no certificate', () => {
    expect(() => parseCertificates('hello')).toThrow(CertificateParseError);
    expect(() => parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(
      /does not parse/,
    );
  });

  it('normalises IP addresses', () => {
    expect(normaliseIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normaliseIp('[::1]')).toBe('::1');
    expect(normaliseIp('10.1.2.3')).toBe('10.1.2.3');
  });
});
