// How many processes `gatehouse extproc` runs when --workers is not given (docs/operations.md#workers):
// with Redis, one per CPU of the container's quota (cgroup v2 cpu.max, rounded up), else one per CPU the
// process may use (os.availableParallelism), at most MAX_DEFAULT_WORKERS; without Redis always 1, since
// in-memory stores would count every limit once per process.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs of a cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for no limit), rounded up; undefined
 * when there is no limit or the text is not that shape.
 */
export function parseCpuMax(text: string): number | undefined {
  const m = /^\s*(\d+|max)\s+(\d+)\s*$/.exec(text);
  if (!m || m[1] === 'max') return undefined;
  const quota = Number(m[1]);
  const period = Number(m[2]);
  if (!(quota > 0) || !(period > 0)) return undefined;
  return Math.ceil(quota / period);
}

/** The container's CPU quota (cgroup v2), undefined without one or off Linux. */
export function cgroupCpuQuota(file = '/sys/fs/cgroup/cpu.max'): number | undefined {
  try {
    return parseCpuMax(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface WorkerCountChoice {
  workers: number;
  /** Why this many: for the start-up log line. */
  reason: string;
}

export function defaultWorkerCount(options: {
  redis: boolean;
  max: number;
  quota?: number | undefined;
  cpus?: number;
}): WorkerCountChoice {
  if (!options.redis) return { workers: 1, reason: 'in-memory stores (no --redis): one process counts every limit' };
  const cpus = options.cpus ?? availableParallelism();
  const [n, from] = options.quota !== undefined ? [options.quota, 'cgroup CPU quota'] : [cpus, 'available CPUs'];
  const workers = Math.max(1, Math.min(n, cpus, options.max));
  return { workers, reason: `${from} ${n}${workers < n ? `, capped at ${workers}` : ''}` };
}
