// The --tls-* and --xds-tls-* blocks through a real command's parser, so the flags, their parsing and
// the rules across each block are checked together.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import { defineCommand, parseOptions } from './command.ts';
import { serverTlsConfig, serverTlsFlags, xdsTlsConfig, xdsTlsFlags } from './tls.ts';

const command = defineCommand({
  name: 'test',
  summary: 'a server that dials xDS',
  usage: 'test',
  flags: { ...serverTlsFlags({ serves: 'test', clientCertificates: 'client certificates' }), ...xdsTlsFlags() },
  options: (v) => ({ tls: serverTlsConfig(v), xdsTls: xdsTlsConfig(v) }),
  run: () => Promise.resolve(0),
});
const parse = (...argv: string[]) => parseOptions(command, argv);

describe('--tls-* flags', () => {
  it('serve plain text without a certificate, and refuse half a configuration', () => {
    expect(parse('--tls-min-version', 'TLSv1.2').tls).toBeUndefined();
    expect(
      parse(
        '--tls-cert',
        'c',
        '--tls-key',
        'k',
        '--tls-client-ca',
        'ca',
        '--tls-min-version',
        'TLSv1.3',
        '--tls-cipher-suites',
        'ECDHE-ECDSA-AES128-GCM-SHA256',
      ).tls,
    ).toEqual({
      certFile: 'c',
      keyFile: 'k',
      clientCaFile: 'ca',
      policy: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'] },
    });
    expect(() => parse('--tls-cert', 'c')).toThrow(UsageError);
    expect(() => parse('--tls-client-ca', 'ca')).toThrow(
      /gatehouse test: --tls-client-ca needs --tls-cert and --tls-key/,
    );
    expect(() =>
      parse('--tls-cert', 'c', '--tls-key', 'k', '--tls-min-version', 'TLSv1.3', '--tls-max-version', '1.2'),
    ).toThrow(/minimum version TLSv1.3 is above maximum version TLSv1.2/);
    expect(() => parse('--tls-min-version', 'SSLv3')).toThrow(/--tls-min-version: "SSLv3" is not a TLS version/);
    expect(() => parse('--tls-cert', 'c', '--tls-key', 'k', '--tls-cipher-suites', 'NOPE')).toThrow(
      /unknown cipher suite NOPE/,
    );
  });

  it('--xds-tls-*: a CA to verify the server, a certificate and key for mutual TLS', () => {
    expect(parse().xdsTls).toBeUndefined();
    expect(parse('--xds-tls-ca', 'ca', '--xds-tls-cert', 'c', '--xds-tls-key', 'k').xdsTls).toEqual({
      caFile: 'ca',
      certFile: 'c',
      keyFile: 'k',
    });
    expect(() => parse('--xds-tls-cert', 'c', '--xds-tls-key', 'k')).toThrow(/--xds-tls-cert needs --xds-tls-ca/);
    expect(() => parse('--xds-tls-ca', 'ca', '--xds-tls-cert', 'c')).toThrow(
      /--xds-tls-cert and --xds-tls-key go together/,
    );
  });
});
