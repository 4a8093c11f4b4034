// "No tracing cost when disabled" (docs/operations.md#tracing): extproc, devproxy and the operator load
// no OpenTelemetry SDK package until an endpoint is given. A child process records every module
// specifier resolved (module.registerHooks) while it loads the three planes' entry points and serves
// an ext_proc server without a tracer; no SDK package may be among them. Then startTracing loads them.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const script = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@opentelemetry/')) seen.add(specifier);
    return next(specifier, context);
  },
});
await import('./extproc/src/main.ts');
await import('./devproxy/src/main.ts');
await import('./operator/src/main.ts');
const { startTestServer } = await import('./extproc/src/server/test-server.test-support.ts');
const server = await startTestServer();
await server.close();
const before = [...seen];
const { startTracing } = await import('./lib/tracing.ts');
const tracing = await startTracing({ endpoint: '127.0.0.1:1', serviceName: 't', rootSamplingPercent: 0 });
await tracing.shutdown();
console.log(JSON.stringify({ before, after: [...seen] }));
process.exit(0);
`;

describe('tracing disabled', () => {
  it('loads no OpenTelemetry SDK package; startTracing does', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'silent' },
    });
    const { before, after } = JSON.parse(out.trim().split('\n').at(-1)!) as { before: string[]; after: string[] };
    // prom-client itself resolves @opentelemetry/api (the API only, for exemplars); no SDK package is loaded.
    expect(before.filter((p) => p !== '@opentelemetry/api')).toEqual([]);
    expect(after).toContain('@opentelemetry/sdk-trace-base');
  }, 60_000);
});
