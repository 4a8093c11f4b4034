import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupCpuQuota, defaultWorkerCount, parseCpuMax } from './cpu-quota.ts';

describe('the default --workers', () => {
  it('reads cgroup v2 cpu.max as CPUs rounded up; no limit or a strange file is no quota', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(2);
    expect(parseCpuMax('50000 100000')).toBe(1);
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    for (const bad of ['', 'max', '0 100000', '100000 0', '-1 100000', '1e9 1', 'lots of cpus', '1 2 3'])
      expect(parseCpuMax(bad), bad).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cpumax-'));
    writeFileSync(join(dir, 'cpu.max'), '400000 100000\n');
    expect(cgroupCpuQuota(join(dir, 'cpu.max'))).toBe(4);
    expect(cgroupCpuQuota(join(dir, 'missing'))).toBeUndefined();
  });

  it('is 1 without Redis, else the quota (else the CPUs), never more than the CPUs or the cap', () => {
    const memory = defaultWorkerCount({ redis: false, max: 16, quota: 4, cpus: 8 });
    expect(memory.workers).toBe(1);
    expect(memory.reason).toMatch(/in-memory stores/);
    expect(defaultWorkerCount({ redis: true, max: 16, quota: 2, cpus: 8 })).toEqual({
      workers: 2,
      reason: 'cgroup CPU quota 2',
    });
    expect(defaultWorkerCount({ redis: true, max: 16, quota: undefined, cpus: 6 }).workers).toBe(6);
    expect(defaultWorkerCount({ redis: true, max: 16, quota: 8, cpus: 2 }).workers).toBe(2);
    expect(defaultWorkerCount({ redis: true, max: 16, quota: undefined, cpus: 96 })).toEqual({
      workers: 16,
      reason: 'available CPUs 96, capped at 16',
    });
  });
});
