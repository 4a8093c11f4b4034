import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { UsageError } from '../../lib/errors.ts';
import { extprocCommand } from './command.ts';
import { DEFAULT_REMOTE_KEY_OPTIONS } from './keys/remote-key-sets.ts';
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
        '--work-threads',
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
    expect(() => parse('--snapshot', 's', '--work-threads', '-1')).toThrow(/--work-threads/);
    expect(() => parse('--snapshot', 's', '--work-budget-ms', '0')).toThrow(/--work-budget-ms/);
  });

  it('--max-connection-age and its grace: off by default, durations, a grace only with an age, no age under 1s', () => {
    expect(parse('--snapshot', 's')).toMatchObject({ maxConnectionAge: 0, maxConnectionAgeGrace: 0 });
    expect(parse('--snapshot', 's', '--max-connection-age', '30m', '--max-connection-age-grace', '5m')).toMatchObject({
      maxConnectionAge: 1_800_000,
      maxConnectionAgeGrace: 300_000,
    });
    expect(parse('--snapshot', 's', '--max-connection-age', '1s')).toMatchObject({ maxConnectionAge: 1000 });
    expect(() => parse('--snapshot', 's', '--max-connection-age', '500ms')).toThrow(
      /--max-connection-age: 500ms .* give 1s or more/,
    );
    expect(() => parse('--snapshot', 's', '--max-connection-age-grace', '1m')).toThrow(
      /--max-connection-age-grace needs --max-connection-age/,
    );
    expect(() => parse('--snapshot', 's', '--max-connection-age', '-1s')).toThrow(/--max-connection-age/);
  });

  it('--max-connection-age and its grace: at most 24h (Node fires a timer past 24.8 days at once)', () => {
    expect(parse('--snapshot', 's', '--max-connection-age', '24h', '--max-connection-age-grace', '24h')).toMatchObject({
      maxConnectionAge: 86_400_000,
      maxConnectionAgeGrace: 86_400_000,
    });
    expect(() => parse('--snapshot', 's', '--max-connection-age', '1000h')).toThrow(
      /--max-connection-age: 1000h is more than 24h/,
    );
    expect(() => parse('--snapshot', 's', '--max-connection-age', '24h1ms')).toThrow(/more than 24h/);
    expect(() =>
      parse('--snapshot', 's', '--max-connection-age', '30m', '--max-connection-age-grace', '99999999h'),
    ).toThrow(/--max-connection-age-grace: .* is more than 24h/);
  });

  it('--jwks-*: the key service bounds, defaults as the service has them, each bound checked and named', () => {
    expect(parse('--snapshot', 's').remoteKeys).toEqual(DEFAULT_REMOTE_KEY_OPTIONS);
    expect(
      parse(
        '--snapshot',
        's',
        '--jwks-cache-default',
        '10m',
        '--jwks-cache-min',
        '1m',
        '--jwks-cache-max',
        '2h',
        '--jwks-refetch-interval',
        '1m',
        '--jwks-stale-if-error',
        '0s',
        '--jwks-failure-backoff',
        '10s',
        '--jwks-fetch-timeout',
        '2s',
        '--jwks-max-bytes',
        '65536',
        '--jwks-max-urls',
        '50',
      ).remoteKeys,
    ).toEqual({
      ttlMs: 600_000,
      minTtlMs: 60_000,
      maxTtlMs: 7_200_000,
      refetchIntervalMs: 60_000,
      staleIfErrorMs: 0,
      failureBackoffMs: 10_000,
      timeoutMs: 2_000,
      maxBytes: 65_536,
      maxEntries: 50,
    });
    for (const [argv, message] of [
      [['--jwks-cache-min', '0s'], /--jwks-cache-min: 0ms is not between 1s and 168h/],
      [['--jwks-cache-min', '2h', '--jwks-cache-max', '1h'], /--jwks-cache-max/],
      [['--jwks-cache-default', '10s'], /--jwks-cache-default: 10s is not between 30s and 24h/],
      [['--jwks-cache-max', '30d'], /--jwks-cache-max: "30d" is not a duration/],
      [['--jwks-refetch-interval', '10ms'], /--jwks-refetch-interval/],
      [['--jwks-fetch-timeout', '5m'], /--jwks-fetch-timeout: 5m is not between 100ms and 1m/],
      [['--jwks-max-bytes', '100'], /--jwks-max-bytes: 100 is not between 1024 and 16777216/],
      [['--jwks-max-urls', '0'], /--jwks-max-urls/],
      [['--jwks-stale-if-error', 'forever'], /--jwks-stale-if-error/],
    ] as const) {
      expect(() => parse('--snapshot', 's', ...argv), argv.join(' ')).toThrow(message);
    }
  });

  it('--workers: processes, more than one only with Redis, never 0, bounded; the default is left to the machine', () => {
    expect(parse('--snapshot', 's').workers).toBeUndefined();
    expect(parse('--snapshot', 's', '--workers', '1').workers).toBe(1);
    expect(parse('--snapshot', 's', '--redis', 'redis://r:6379', '--workers', '4').workers).toBe(4);
    expect(parse('--snapshot', 's', '--redis', 'redis://r', '--workers', '4', '--work-threads', '2')).toMatchObject({
      workers: 4,
      work: { workers: 2 },
    });
    // In-memory stores would count every limit once per process.
    expect(() => parse('--snapshot', 's', '--workers', '2')).toThrow(
      /--workers 2 needs --redis .*Quota, SpikeArrest and ConcurrentRatelimit.*2 x the limit/,
    );
    // Before --work-threads, `--workers 0` meant "no thread pool": said so rather than taken as processes.
    expect(() => parse('--snapshot', 's', '--redis', 'redis://r', '--workers', '0')).toThrow(
      /--workers is the number of processes .* --work-threads \(0: inline\)/,
    );
    expect(() => parse('--snapshot', 's', '--redis', 'redis://r', '--workers', '65')).toThrow(/more than 64/);
    expect(() => parse('--snapshot', 's', '--workers', 'all')).toThrow(/--workers/);
  });
});
