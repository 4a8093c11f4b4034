// `npm run bench:conversions`: CPU per request of XMLToJSON and JSONToXML on a 10 KB and a 100 KB body,
// against the empty flow in the same run (docs/policies.md#jsontoxml). Each case runs whole request
// phases through the flow engine (compiled proxy, exchange, the step, the body re-serialised) on this
// thread with the inline offload, so the figure is the CPU one request costs whichever thread runs it
// (on the worker pool a large body costs the same, plus the copy to the worker). No gRPC: that part
// is the same for every flow and is what bench:extproc measures.
import { createMessage } from './conversions-fixture.ts';
import type { Proxy } from '../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { compileProxy } from '../extproc/src/flow/compile.ts';
import { FlowRun } from '../extproc/src/flow/engine.ts';
import { makePolicyContext } from '../extproc/src/flow/policy-context.test-support.ts';
import { policyRegistry } from '../extproc/src/policies/registry.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1_000);

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

function compiled(name: string, policies: Proxy['policies'], steps: string[]) {
  const snapshot = decodeRuntimeSnapshot({
    proxies: [
      {
        namespace: 'bench',
        name,
        route: `bench/${name}`,
        basePath: '/b',
        policies,
        flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
      },
    ],
  });
  return compileProxy(snapshot.proxies[0]!, policyRegistry);
}

interface Case {
  name: string;
  proxy: ReturnType<typeof compiled>;
  body: string;
  contentType: string;
}

/** Runs request phases for `ms`; returns CPU microseconds and wall milliseconds per request. */
async function run(c: Case, ms: number): Promise<{ n: number; cpuUs: number; wallMs: number }> {
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    const ctx = makePolicyContext({ method: 'POST', path: '/b/orders', body: c.body, contentType: c.contentType });
    const outcome = await new FlowRun(c.proxy, ctx.exchange).runRequest();
    if (outcome.action !== 'continue') throw new Error(`${c.name}: ${JSON.stringify(outcome)}`);
    // What the server does at the end of a phase: the changed body is serialised to send to Envoy.
    if (ctx.request.body.changed) ctx.request.body.bytes();
    n++;
  }
  const cpu = process.cpuUsage(startCpu);
  return { n, cpuUs: (cpu.user + cpu.system) / n, wallMs: (performance.now() - start) / n };
}

const empty = compiled('empty', {}, []);
const toJson = compiled('x2j', { x2j: policy('XMLToJSON', { format: 'yahoo' }) }, ['x2j']);
const toXml = compiled('j2x', { j2x: policy('JSONToXML', {}) }, ['j2x']);

const cases: Case[] = [];
for (const kb of [10, 100]) {
  const { json, xml } = createMessage(kb * 1024);
  cases.push({ name: `empty flow, ${kb} KB JSON body`, proxy: empty, body: json, contentType: 'application/json' });
  cases.push({ name: `XMLToJSON, ${kb} KB`, proxy: toJson, body: xml, contentType: 'application/xml' });
  cases.push({ name: `JSONToXML, ${kb} KB`, proxy: toXml, body: json, contentType: 'application/json' });
}

process.stdout.write(
  `conversion bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, one thread, inline offload\n\n`,
);
process.stdout.write(
  `${'case'.padEnd(32)} ${'requests'.padStart(9)} ${'CPU µs/req'.padStart(11)} ${'wall ms/req'.padStart(12)} ${'x empty'.padStart(8)}\n`,
);
let baseline = 0;
for (const c of cases) {
  await run(c, WARMUP_MS);
  const r = await run(c, DURATION_MS);
  if (c.proxy === empty) baseline = r.cpuUs;
  process.stdout.write(
    `${c.name.padEnd(32)} ${String(r.n).padStart(9)} ${r.cpuUs.toFixed(0).padStart(11)} ${r.wallMs.toFixed(3).padStart(12)} ${(r.cpuUs / baseline).toFixed(1).padStart(8)}\n`,
  );
}
