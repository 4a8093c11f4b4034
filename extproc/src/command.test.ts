import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { UsageError } from '../../lib/errors.ts';
import { extprocCommand } from './command.ts';
import { DEFAULT_STREAM_LIMITS } from './server/limits.ts';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_WORK } from './server/server.ts';
import { DEFAULT_TRANSPORT } from './server/transport.ts';

const parse = (...argv: string[]) => parseOptions(extprocCommand, argv);

describe('gatehouse extproc options', () => {
  it('rejects Redis settings it does not know, naming the flag', () => {
    expect(() => parse('--snapshot', 'x.json', '--redis', 'redis://x', '--redis-mode', 'Ring')).toThrow(
      /--redis-mode: "Ring" is not one of Standalone, Sentinel, Cluster/,
    );
    expect(() => parse('--snapshot', 'x.json', '--redis', 'redis://x', '--replicas', '0')).toThrow(/--replicas/);
  });

  it('needs exactly one snapshot source, and --xds as HOST:PORT', () => {
    expect(() => parse()).toThrow(UsageError);
    expect(() => parse('--snapshot', 'x.json', '--xds', '127.0.0.1:18000')).toThrow(UsageError);
    expect(() => parse('--xds', 'no-port')).toThrow(/--xds: "no-port" is not HOST:PORT/);
  });

  it('types every value and fills the defaults', () => {
    expect(parse('--xds', '[::1]:18000', '--max-body-bytes', '2048')).toMatchObject({
      xds: { host: '::1', port: 18000 },
      port: 9002,
      metricsPort: 9003,
      nodeCluster: 'gatehouse-extproc',
      redisMode: 'Standalone',
      redisOnUnavailable: 'FailClosed',
      redisDeadlineMs: 75,
      replicas: 1,
      region: 'default',
      maxBodyBytes: 2048,
      tls: undefined,
      xdsTls: undefined,
    });
    expect(extprocCommand.flags['max-body-bytes']!.default).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(extprocCommand.flags.transport!.default).toBe(DEFAULT_TRANSPORT);
    expect(parse('--snapshot', 's', '--transport', 'http2').transport).toBe('http2');
    expect(() => parse('--snapshot', 's', '--transport', 'h3')).toThrow(/--transport/);
  });

  it('reads the Redis URL from $GATEHOUSE_REDIS_URL when --redis is not given', () => {
    const env = { GATEHOUSE_REDIS_URL: 'redis://from-env:6379' };
    expect(extprocCommand.parse(['--snapshot', 'x.json'], env)).toMatchObject({ redis: 'redis://from-env:6379' });
    expect(extprocCommand.parse(['--snapshot', 'x.json', '--redis', 'redis://flag'], env)).toMatchObject({
      redis: 'redis://flag',
    });
    expect(extprocCommand.parse(['--snapshot', 'x.json'], { GATEHOUSE_REDIS_URL: '' })).toMatchObject({
      redis: undefined,
    });
  });

  it('TLS: serving and dialling xDS are checked as blocks', () => {
    expect(parse('--snapshot', 's', '--tls-cert', 'c', '--tls-key', 'k', '--tls-client-ca', 'ca').tls).toEqual({
      certFile: 'c',
      keyFile: 'k',
      clientCaFile: 'ca',
      policy: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', cipherSuites: [] },
    });
    expect(() => parse('--snapshot', 's', '--xds-tls-ca', 'ca')).toThrow(/--xds-tls-\* need --xds/);
    expect(parse('--xds', 'h:1', '--xds-tls-ca', 'ca').xdsTls).toEqual({ caFile: 'ca' });
  });

  it('bounds: the stream limits and the worker pool, defaults as the server has them, a bad value named', () => {
    const o = parse('--snapshot', 's');
    expect(o.limits).toEqual(DEFAULT_STREAM_LIMITS);
    const { workers, maxHeapMb, ...work } = DEFAULT_WORK;
    expect(o.work).toEqual(work);
    expect([workers, maxHeapMb]).toEqual([expect.any(Number), expect.any(Number)]);
    expect(
      parse(
        '--snapshot',
        's',
        '--max-request-headers-kb',
        '8',
        '--max-connection-streams',
        '0',
        '--workers',
        '0',
        '--work-budget-ms',
        '250',
        '--offload-min-bytes',
        '0',
      ),
    ).toMatchObject({
      limits: { maxHeadersBytes: 8192, maxConnectionStreams: 0 },
      work: { workers: 0, budgetMs: 250, minBytes: 0 },
    });
    expect(() => parse('--snapshot', 's', '--max-headers-count', '0')).toThrow(/--max-headers-count: "0"/);
    expect(() => parse('--snapshot', 's', '--max-streams', 'lots')).toThrow(UsageError);
    expect(() => parse('--snapshot', 's', '--workers', '-1')).toThrow(/--workers/);
    expect(() => parse('--snapshot', 's', '--work-budget-ms', '0')).toThrow(/--work-budget-ms/);
  });
});
