import { describe, expect, it } from 'vitest';
import { NotAvailableError, UsageError } from '../../lib/errors.ts';
import { runExtproc } from './main.ts';

describe('gatehouse extproc options', () => {
  it('names the issue that brings --xds and --redis', async () => {
    await expect(runExtproc({ xds: '127.0.0.1:18000' })).rejects.toThrow(NotAvailableError);
    await expect(runExtproc({ xds: '127.0.0.1:18000' })).rejects.toThrow(/distribution/);
    await expect(runExtproc({ snapshot: 'x.json', redis: 'redis://x' })).rejects.toThrow(/traffic/);
  });

  it('needs a snapshot source', async () => {
    await expect(runExtproc({})).rejects.toThrow(UsageError);
  });
});
