// The JavaScript policy's httpClient (docs/policies.md#javascript): real HTTP servers started here, the
// real egress client and its address rules, the script on a real worker thread through the bridge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressClient } from '../../egress/client.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { StreamOffload } from '../../workers/offload.ts';
import { WorkerPool } from '../../workers/pool.ts';
import { javaScriptPolicy, MAX_HTTP_CALLS } from './javascript.ts';
import type { JavaScriptConfig } from '../../../../protos/policies/extension/javascript.ts';

const meta = { namespace: 'shop', name: 'JS-HTTP' };
const loopbackPlane = { dataPlanes: [{ namespace: 'shop', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }] };
const egress = new EgressClient();
const pool = new WorkerPool({ size: 1, queueLimit: 4 });
let server: Server;
let base: string;
const seen: Array<{ url: string; method: string; headers: IncomingMessage['headers']; body: string }> = [];
/** Requests to /hold are never answered until the test ends. */
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        url: req.url ?? '',
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (req.url?.startsWith('/hold')) return void held.push(res);
      if (req.url?.startsWith('/big')) return void res.end('x'.repeat(2 * 1024 * 1024));
      res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-upstream', 'yes');
      res.end(JSON.stringify({ url: req.url, method: req.method }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await pool.ready();
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise((resolve) => server.close(resolve));
  egress.close();
  await pool.close();
});

async function run(source: string, config: Partial<JavaScriptConfig> = {}, opts: PolicyContextOptions = {}) {
  const step = javaScriptPolicy.create({ source, resourceURL: 'jsc://call.js', ...config }, meta);
  const ctx = makePolicyContext({ egress, snapshot: loopbackPlane, ...opts });
  const offload = new StreamOffload(pool, { minBytes: 0, budgetMs: 30_000 }, new AbortController().signal);
  offload.startPhase();
  try {
    await step({ ...ctx, offload });
    return { ctx, fault: undefined };
  } catch (error) {
    if (!(error instanceof PolicyFault)) throw error;
    return { ctx, fault: error };
  }
}

describe('JavaScript httpClient', () => {
  it('get + waitForComplete + getResponse: status, headers, content', async () => {
    const { ctx, fault } = await run(
      `var exchange = httpClient.get('${base}/items?id=7');
       var before = exchange.isComplete();
       exchange.waitForComplete();
       var r = exchange.getResponse();
       context.setVariable('got', [exchange.isComplete(), exchange.isSuccess(), exchange.isError(), r.status,
         r.headers['x-upstream'], r.body.asJSON.url, JSON.parse(r.content).method, r.content.asJSON.method, typeof before].join(' '));`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('got')).toBe('true true false 200 yes /items?id=7 GET GET boolean');
  });

  it('send with a Request: POST body and headers reach the server; a 404 is a response, not an error', async () => {
    const { ctx, fault } = await run(
      `var req = new Request('${base}/orders', 'POST', { 'content-type': 'application/json', 'x-tenant': 'shop' },
         JSON.stringify({ id: 'A-7' }));
       var exchange = httpClient.send(req);
       exchange.waitForComplete(3000);
       var missing = httpClient.get('${base}/missing');
       missing.waitForComplete();
       context.setVariable('got', exchange.getResponse().status + ' ' + missing.isSuccess() + ' ' + missing.getResponse().status);`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('got')).toBe('200 true 404');
    const posted = seen.find((s) => s.url === '/orders');
    expect(posted).toMatchObject({ method: 'POST', body: '{"id":"A-7"}' });
    expect(posted?.headers['x-tenant']).toBe('shop');
  });

  it('the callback form: callback(response, error) once the call completes, after the script', async () => {
    const { ctx, fault } = await run(
      `httpClient.get('${base}/cb', function (response, error) {
         context.setVariable('cb', response ? String(response.status) : 'error ' + error);
       });
       httpClient.get('http://169.254.169.254/latest/meta-data/', function (response, error) {
         context.setVariable('cbError', response ? 'response' : String(error));
       });
       context.setVariable('cb', 'not yet');`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('cb')).toBe('200');
    expect(ctx.variables.get('cbError')).toMatch(/refused to call http:\/\/169\.254\.169\.254.*link-local|metadata/);
  });

  it('a metadata or private address is refused as ServiceCallout refuses it: an exchange error, the host fine', async () => {
    const { ctx, fault } = await run(
      `var meta = httpClient.get('http://169.254.169.254/computeMetadata/v1/');
       meta.waitForComplete();
       var lan = httpClient.get('${base}/lan');
       lan.waitForComplete();
       context.setVariable('meta', meta.isError() + ' ' + meta.getError() + ' ' + meta.getResponse());
       context.setVariable('lan', lan.isError() + ' ' + lan.getError());`,
      { timeLimit: 5000 },
      // No calloutPrivateNetworks: loopback is refused like any private network.
      { snapshot: {} },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('meta')).toMatch(/^true refused to call http:\/\/169\.254\.169\.254: .* undefined$/);
    expect(ctx.variables.get('lan')).toMatch(
      /^true refused to call http:\/\/127\.0\.0\.1:\d+: .*calloutPrivateNetworks/,
    );
    expect(seen.some((s) => s.url === '/lan')).toBe(false);
  });

  it('a slow server past timeLimit is the timeout fault, even when the script catches the interruption', async () => {
    const { fault } = await run(
      `var exchange = httpClient.get('${base}/hold');
       try { exchange.waitForComplete(); } catch (e) { context.setVariable('caught', String(e)); }`,
      { timeLimit: 300 },
    );
    expect(fault?.errorCode).toBe('steps.javascript.ScriptExecutionFailed');
    expect(fault?.message).toMatch(/exceeded limit of 300ms/);
    // The worker serves the next run.
    const next = await run(`context.setVariable('ok', httpClient.get('${base}/next').waitForComplete())`, {
      timeLimit: 5000,
    });
    expect(next.ctx.variables.get('ok')).toBe(true);
  });

  it('while a script waits for a call the event loop stays free; a response over the cap is an error', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const waiting = run(
      `var slow = httpClient.get('${base}/hold/3'); slow.waitForComplete(1500);
       var big = httpClient.get('${base}/big'); big.waitForComplete();
       context.setVariable('got', slow.isComplete() + ' ' + big.isError() + ' ' + big.getError());`,
      { timeLimit: 5000 },
    );
    await expect.poll(() => ticks, { timeout: 5000 }).toBeGreaterThan(3);
    const { ctx, fault } = await waiting;
    clearInterval(timer);
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('got')).toMatch(
      /^false true the response from http:\/\/127\.0\.0\.1:\d+ is over 1048576 bytes$/,
    );
  });

  it('waitForComplete(ms) returns false when the call is still running; the script goes on', async () => {
    const { ctx, fault } = await run(
      `var exchange = httpClient.get('${base}/hold/2');
       var done = exchange.waitForComplete(50);
       context.setVariable('got', done + ' ' + exchange.isComplete() + ' ' + exchange.getResponse());`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('got')).toBe('false false undefined');
  });

  it(`more than ${MAX_HTTP_CALLS} calls in one run: the next send throws in the script`, async () => {
    const { ctx, fault } = await run(
      `var n = 0;
       try { for (var i = 0; i < 50; i++) { httpClient.get('${base}/many/' + i); n++; } }
       catch (e) { context.setVariable('error', String(e)); }
       context.setVariable('n', n);`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('n')).toBe(MAX_HTTP_CALLS);
    expect(ctx.variables.get('error')).toMatch(/at most 10 calls per script run/);
  });

  it('hostile arguments: a bad URL, a bad method, a huge header value fail cleanly', async () => {
    const { ctx, fault } = await run(
      `var bad = httpClient.get('file:///etc/passwd'); bad.waitForComplete();
       var out = [bad.isError(), bad.getError()];
       try { httpClient.send(new Request('${base}/x', 'GET /evil HTTP/1.1')); } catch (e) { out.push(String(e)); }
       var h = httpClient.send(new Request('${base}/x', 'GET', { 'x-bad': 'a\\r\\nx-injected: 1' }));
       h.waitForComplete();
       out.push(h.isError());
       context.setVariable('out', out.join(' | '));`,
      { timeLimit: 5000 },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('out')).toMatch(
      /^true \| not a URL a callout may use: file: .* \| Error: the method must be/,
    );
    expect(seen.some((s) => 'x-injected' in s.headers)).toBe(false);
  });

  it('without a worker pool (--work-threads 0) waitForComplete cannot block the event loop: it reports incomplete', async () => {
    const step = javaScriptPolicy.create(
      {
        source: `var exchange = httpClient.get('${base}/inline');
          httpClient.get('${base}/inline/cb', function (response, error) { context.setVariable('cb', String(error)); });
          context.setVariable('got', exchange.waitForComplete() + ' ' + exchange.isComplete());`,
        timeLimit: 5000,
      },
      meta,
    );
    const ctx = makePolicyContext({ egress, snapshot: loopbackPlane });
    await step(ctx);
    expect(ctx.variables.get('got')).toBe('false false');
    expect(ctx.variables.get('cb')).toBe('the call did not complete');
  });
});
