// `gatehouse dev` runs extproc as a child: when dev dies, however it dies, the child goes with it and
// frees its ports (issue: a devproxy crash used to leave an orphaned extproc on them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { eventually } from '../env/eventually.ts';
import { send } from './harness.ts';
import { devPorts, gatehouse, until, type Command } from './processes.ts';

const examples = join(import.meta.dirname, '../../examples');
let dev: Command | undefined;

afterAll(async () => {
  await dev?.stop('SIGKILL');
});

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
}

/** Running, not exited (an exited child no one reaped yet is a zombie: state Z). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

it('SIGKILL of gatehouse dev stops its extproc child, which frees its ports', async () => {
  const { port, metricsPort, args } = await devPorts();
  dev = gatehouse(['dev', '-f', examples, ...args]);
  const base = `http://127.0.0.1:${port}`;
  await until(
    dev,
    'the examples to be served',
    async () => (await send(`${base}/orders/v1/orders`)).status === 401,
    60_000,
  );
  const [extproc] = childrenOf(dev.child.pid!);
  expect(extproc).toBeDefined();
  expect(alive(extproc!)).toBe(true);

  dev.child.kill('SIGKILL');
  await eventually('the extproc child to exit', () => !alive(extproc!), 30_000);
  await eventually('the extproc metrics port to be free', async () =>
    fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      () => false,
      () => true,
    ),
  );
}, 120_000);
