// Real policies on large bodies through the server with a worker pool: the verdicts are the inline
// ones, the work ran on a worker, a light request is not held up by a worst-case body, and work past
// its budget is refused with 503.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../../devproxy/src/ext-proc/exchange.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });
const SCRIPT = '(?i)<\\s*script\\b';

const snapshot: RuntimeSnapshot = {
  version: 'offload',
  proxies: [
    {
      namespace: 'shop',
      name: 'guard',
      route: 'shop/guard',
      basePath: '/guard',
      policies: {
        json: policy('JSONThreatProtection', { containerDepth: 300, stringValueLength: 100_000 }),
        regex: policy('RegularExpressionProtection', {
          jsonPayload: [{ expression: '$..*', patterns: [SCRIPT] }],
          xmlPayload: { xPaths: [{ expression: '//*', patterns: [SCRIPT] }] },
        }),
        extract: policy('ExtractVariables', {
          jsonPayload: [{ name: 'first', jsonPath: '$.c.s' }],
          variablePrefix: 'x',
          ignoreUnresolvedVariables: true,
        }),
        echo: policy('AssignMessage', { set: { headers: { 'x-first': '{x.first}' } } }),
      },
      flows: {
        preFlow: {
          request: [{ policy: 'json' }, { policy: 'regex' }, { policy: 'extract' }, { policy: 'echo' }],
        },
      },
    },
    {
      namespace: 'shop',
      name: 'light',
      route: 'shop/light',
      basePath: '/light',
      policies: { mark: policy('AssignMessage', { set: { headers: { 'x-light': 'yes' } } }) },
      flows: { preFlow: { request: [{ policy: 'mark' }] } },
    },
  ],
};

/** A JSON body `levels` deep whose innermost string is `leaf`. */
function deepJson(levels: number, width: number, leaf: string): string {
  let body = JSON.stringify(leaf);
  for (let i = 0; i < levels; i++) body = `{"s":"${'y'.repeat(width)}","c":${body}}`;
  return body;
}

const upstream = () => ({ status: 200, headers: [] as Array<[string, string]>, body: Buffer.alloc(0) });
const errorCode = (body: Buffer) =>
  (JSON.parse(body.toString()) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

describe('policy work on the worker pool', () => {
  let server: TestServer;
  let client: ExternalProcessorClient;
  beforeAll(async () => {
    server = await startTestServer({ snapshot, work: { workers: 1, minBytes: 1024, budgetMs: 60_000 } });
    client = createExtProcClient(server.address);
    await server.server.pool!.ready();
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const post = (body: string, contentType = 'application/json') =>
    runExtProcExchange({
      client,
      route: 'shop/guard',
      mode: { requestBodyMode: 'BUFFERED' },
      timeoutMs: 60_000,
      request: {
        method: 'POST',
        path: '/guard',
        headers: [
          ['content-type', contentType],
          ['content-length', String(Buffer.byteLength(body))],
        ],
        body: Buffer.from(body),
      },
      upstream,
    });

  it('gives large bodies the verdicts small ones get, from a worker', async () => {
    const clean = await post(deepJson(200, 500, 'fine'));
    expect(clean.response.status).toBe(200);
    expect(clean.upstreamRequest?.headers).toContainEqual(['x-first', 'y'.repeat(500)]);
    const threat = await post(deepJson(200, 500, 'a <script> deep down'));
    expect(threat.response.status).toBe(400);
    expect(errorCode(threat.response.body)).toBe('steps.regexprotection.ThreatDetected');
    const xml = await post(`<a>${'<b>ok</b>'.repeat(300)}<c><d>x<script/></d></c></a>`, 'application/xml');
    expect(xml.response.status).toBe(200); // <script/> is markup, not text: the pattern sees none
    const xmlThreat = await post(`<a>${'<b>ok</b>'.repeat(300)}<c>&lt;script&gt;</c></a>`, 'application/xml');
    expect(xmlThreat.response.status).toBe(400);
    const small = await post(deepJson(2, 5, '<script>'));
    expect(small.response.status).toBe(400);
    const done = (await server.server.metrics.offloadTasks.get()).values.filter((v) => v.labels.result === 'done');
    // json.threat, regex.body and extract.body for the clean JSON body; the threat stops at regex.body;
    // the XML bodies skip json.threat (not JSON) and the threat stops at regex.body: 3 + 2 + 2 + 1.
    expect(done.reduce((n, v) => n + v.value, 0)).toBe(8);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('a worst-case body on the pool (issue 13: no request stalls the others)', () => {
  it('does not hold up a light request sent while it is checked', async () => {
    const server = await startTestServer({ snapshot, work: { workers: 1, minBytes: 1024, budgetMs: 120_000 } });
    const client = createExtProcClient(server.address);
    try {
      const pool = server.server.pool!;
      await pool.ready();
      // 1 MiB of XML 250 levels deep, 130,000 elements, all selected by //*: seconds of work inline.
      const body = `${'<a>'.repeat(250)}${'<b>x</b>'.repeat(130_000)}${'</a>'.repeat(250)}`;
      let heavyDone = false;
      const heavy = runExtProcExchange({
        client,
        route: 'shop/guard',
        mode: { requestBodyMode: 'BUFFERED' },
        timeoutMs: 120_000,
        request: {
          method: 'POST',
          path: '/guard',
          headers: [['content-type', 'application/xml']],
          body: Buffer.from(body),
        },
        upstream,
      }).finally(() => (heavyDone = true));
      await until(() => pool.busy > 0 || heavyDone); // its XPath check runs on the worker now
      expect(heavyDone, 'the heavy request was answered before it reached the worker').toBe(false);
      // Inline (--work-threads 0) the event loop would finish the heavy check before reading this request.
      const light = await runExtProcExchange({
        client,
        route: 'shop/light',
        request: { method: 'GET', path: '/light/x', headers: [], body: Buffer.alloc(0) },
        upstream,
      });
      expect(light.upstreamRequest?.headers).toContainEqual(['x-light', 'yes']);
      expect(heavyDone).toBe(false);
      expect((await heavy).response.status).toBe(200);
    } finally {
      client.close();
      await server.close();
    }
  }, 180_000);
});

describe('policy work over budget', () => {
  it('is refused with 503 gatehouse.WorkBudgetExceeded, and the pool keeps serving', async () => {
    // 1 ms cannot cover parsing and matching a 1 MiB body, on any machine.
    const server = await startTestServer({ snapshot, work: { workers: 1, minBytes: 1024, budgetMs: 1 } });
    const client = createExtProcClient(server.address);
    try {
      await server.server.pool!.ready();
      const body = deepJson(250, 4000, 'x');
      const result = await runExtProcExchange({
        client,
        route: 'shop/guard',
        mode: { requestBodyMode: 'BUFFERED' },
        timeoutMs: 60_000,
        request: {
          method: 'POST',
          path: '/guard',
          headers: [['content-type', 'application/json']],
          body: Buffer.from(body),
        },
        upstream,
      });
      expect(result.response.status).toBe(503);
      expect(errorCode(result.response.body)).toBe('gatehouse.WorkBudgetExceeded');
      expect(result.upstreamRequest).toBeUndefined();
      const small = await runExtProcExchange({
        client,
        route: 'shop/guard',
        mode: { requestBodyMode: 'BUFFERED' },
        request: {
          method: 'POST',
          path: '/guard',
          headers: [['content-type', 'application/json']],
          body: Buffer.from('{}'),
        },
        upstream,
      });
      expect(small.response.status).toBe(200); // small bodies stay inline: no budget, no pool
    } finally {
      client.close();
      await server.close();
    }
  });
});
