import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/errors.ts';
import { runExtproc, streamLimits, workOptions } from './main.ts';

describe('gatehouse extproc options', () => {
  it('rejects Redis settings it does not know, naming the flag', async () => {
    await expect(runExtproc({ snapshot: 'x.json', redis: 'redis://x', 'redis-mode': 'Ring' })).rejects.toThrow(
      /--redis-mode: "Ring"/,
    );
    await expect(runExtproc({ snapshot: 'x.json', redis: 'redis://x', replicas: '0' })).rejects.toThrow(/--replicas/);
  });

  it('needs exactly one snapshot source, and --xds as HOST:PORT', async () => {
    await expect(runExtproc({})).rejects.toThrow(UsageError);
    await expect(runExtproc({ snapshot: 'x.json', xds: '127.0.0.1:18000' })).rejects.toThrow(UsageError);
    await expect(runExtproc({ xds: 'no-port' })).rejects.toThrow(/HOST:PORT/);
  });
});

describe('limit flags', () => {
  it('default to Envoy-like limits and a worker pool, and name a bad value', () => {
    expect(streamLimits({})).toEqual({
      maxBodyBytes: 1048576,
      maxHeadersCount: 100,
      maxHeadersBytes: 60 * 1024,
      streamIdleTimeoutMs: 300_000,
      maxStreams: 10_000,
      maxConnectionStreams: 0,
      maxBufferedBodyBytes: 128 * 1024 * 1024,
    });
    expect(streamLimits({ 'max-request-headers-kb': '8', 'max-connection-streams': '0' })).toMatchObject({
      maxHeadersBytes: 8192,
      maxConnectionStreams: 0,
    });
    expect(workOptions({ workers: '0', 'work-budget-ms': '250' })).toMatchObject({ workers: 0, budgetMs: 250 });
    expect(workOptions({}).workers).toBeGreaterThanOrEqual(1);
    expect(() => streamLimits({ 'max-headers-count': '0' })).toThrow(/--max-headers-count/);
    expect(() => streamLimits({ 'max-streams': 'lots' })).toThrow(UsageError);
    expect(() => workOptions({ workers: '-1' })).toThrow(/--workers/);
    expect(() => workOptions({ 'work-budget-ms': '0' })).toThrow(/--work-budget-ms/);
  });
});
