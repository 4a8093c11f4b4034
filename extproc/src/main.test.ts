import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/errors.ts';
import { runExtproc } from './main.ts';

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
