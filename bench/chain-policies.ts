// The typical chain's four policies (bench/typical-chain.ts) run in-process, without the ext_proc
// transport, on the real snapshot loader, message model and flow variables: a microbenchmark for the
// policies' work (docs/architecture.md#the-policies-per-request-work-issue-20); `bench:extproc` is
// the figure of record.
//   npm run bench:policies   (BENCH_ITERATIONS, default 200000; BENCH_ROUNDS, default 3)
// Each round prints the process's CPU per request (the exchange's construction included) and each step's
// wall time.
import { pino } from 'pino';
import { loadSnapshot } from '../extproc/src/config/snapshot.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { BENCH_API_KEY, typicalChainSnapshot, TYPICAL_CHAIN_BODY } from './typical-chain.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const snapshot = loadSnapshot(decodeRuntimeSnapshot(typicalChainSnapshot()));
const chain = snapshot.routes.get('bench/chain')!;
const steps = chain.preFlow.request;
const stores = createMemoryStores();
const log = pino({ level: 'silent' });
const body = Buffer.from(TYPICAL_CHAIN_BODY);

function exchange(): Exchange {
  const request = createRequestMessage({
    method: 'POST',
    path: '/chain/orders',
    authority: 'bench.test',
    headers: { 'content-type': 'application/json', 'x-api-key': BENCH_API_KEY, 'content-length': String(body.length) },
    body,
  });
  return new Exchange({
    request,
    proxy: chain.proxy,
    runtime: snapshot.runtime,
    stores,
    log,
    now: Date.now,
    environmentName: '',
    messageId: 'm',
    client: { ip: '198.51.100.7', cn: '' },
  });
}

/** ns per request of each step (timed one by one, fresh exchanges; garbage collection falls where it falls). */
function round(): { steps: number[]; cpu: number } {
  const spent = steps.map(() => 0);
  const cpu = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const x = exchange();
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      const start = performance.now();
      const result = step.run(x.context('request', step));
      spent[s]! += performance.now() - start;
      if (result !== undefined) throw new Error(`step ${step.policy} did not go on`);
    }
  }
  const used = process.cpuUsage(cpu);
  return { steps: spent.map((ms) => (ms * 1e6) / ITERATIONS), cpu: ((used.user + used.system) * 1000) / ITERATIONS };
}

for (let r = 1; r <= ROUNDS; r++) {
  const { steps: ns, cpu } = round();
  const total = ns.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `round ${r}: process CPU ${cpu.toFixed(0)} ns/request (exchange, chain, timing, GC); chain ${total.toFixed(0)} ns/request (${ns.map((n, i) => `${steps[i]!.type} ${n.toFixed(0)}`).join(', ')})\n`,
  );
}
await stores.close();
