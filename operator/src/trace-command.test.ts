// `gatehouse trace`: its arguments (docs/operations.md#debug-sessions) and the timeline it prints.
// The apiserver round trips are in e2e/operator/debug-sessions.int.test.ts.
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { traceCommand } from './command.ts';
import { renderTrace, renderTraceJson } from './trace-command.ts';

const parse = (...argv: string[]) => parseOptions(traceCommand, argv);

describe('gatehouse trace options', () => {
  it('start NS/PROXY with Apigee-style filter, count and timeout', () => {
    expect(
      parse('start', 'shop/orders', '--filter', 'request.verb = "POST"', '--count', '5', '--timeout', '90s'),
    ).toMatchObject({
      action: 'start',
      namespace: 'shop',
      subject: 'orders',
      filter: 'request.verb = "POST"',
      count: 5,
      timeout: '90s',
      output: 'text',
    });
    expect(parse('get', 'orders-1a2b3c', '-n', 'shop', '-o', 'json')).toMatchObject({
      action: 'get',
      namespace: 'shop',
      subject: 'orders-1a2b3c',
      output: 'json',
    });
  });

  it('refuses what cannot be run, naming it', () => {
    const usage = (argv: string[], message: RegExp) => {
      let thrown: unknown;
      try {
        parse(...argv);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'GH_ERR_USAGE' });
      expect((thrown as Error).message).toMatch(message);
    };
    usage([], /start, get or stop/);
    usage(['list', 'x'], /start, get or stop/);
    usage(['start'], /NS\/PROXY/);
    usage(['start', 'shop/orders', '--count', '16'], /at most 15/);
    usage(['start', 'shop/orders', '--count', '0'], /positive/);
    usage(['start', 'shop/orders', '--timeout', '10 minutes'], /duration/);
    usage(['get', 'x', '--filter', 'a'], /--filter is for trace start only/);
    usage(['get', 'a/b/c'], /NS\/NAME/);
    usage(['get', 'shop/x', '-n', 'other'], /two namespaces/);
    usage(['stop', 'x', 'y'], /unexpected/);
  });
});

const session = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DebugSession',
  metadata: { name: 'orders-1', namespace: 'shop', uid: 'u-1' },
  spec: { proxyRef: { name: 'orders' }, filter: 'request.verb = "POST"', count: 2 },
  status: {
    phase: 'Active',
    captured: 1,
    expireTime: '2026-12-02T16:10:00Z',
    conditions: [{ type: 'Active', status: 'True', reason: 'Capturing', message: '' }],
  },
};

describe('gatehouse trace get output', () => {
  it('prints a timeline per transaction: steps, outcomes, conditions, variables, messages, timings', () => {
    const text = renderTrace(session, [
      {
        requestId: 'r-1',
        traceId: 't-1',
        startedAtMs: '1796227200000',
        durationUs: '2500',
        truncated: false,
        proxy: 'shop/orders',
        status: 401,
        faultName: 'InvalidApiKey',
        points: [
          {
            kind: 'PhaseStarted',
            phase: 'ProxyRequest',
            flow: '',
            policy: '',
            policyType: '',
            outcome: '',
            faultCode: '',
            condition: '',
            conditionResult: false,
            elapsedUs: '0',
            durationUs: '0',
            variablesRead: [],
            variablesSet: [],
            variablesRemoved: [],
            messageBefore: {
              method: 'POST',
              path: '/orders',
              status: 0,
              headers: [{ name: 'x-api-key', value: '********' }],
              body: '{"card":{"number":"********"}}',
              bodyBase64: false,
              bodyTruncated: false,
            },
            messageAfter: null,
          },
          {
            kind: 'StepExecuted',
            phase: 'ProxyRequest',
            flow: 'PreFlow',
            policy: 'verify-key',
            policyType: 'VerifyAPIKey',
            outcome: 'fault',
            faultCode: 'steps.oauth.v2.InvalidApiKey',
            condition: 'request.verb = "POST"',
            conditionResult: true,
            elapsedUs: '150',
            durationUs: '90',
            variablesRead: [{ name: 'request.header.x-api-key', value: '********' }],
            variablesSet: [{ name: 'fault.name', value: 'InvalidApiKey' }],
            variablesRemoved: [],
            messageBefore: null,
            messageAfter: null,
          },
        ],
      },
    ]);
    expect(text).toContain('DebugSession shop/orders-1 (id u-1)');
    expect(text).toContain('phase:    Active; captured 1 of 2');
    expect(text).toContain('Transaction 1: POST /orders -> 401 (fault InvalidApiKey), 2.500ms');
    expect(text).toContain('request id r-1, trace id t-1, at 2026-12-02T16:00:00.000Z');
    expect(text).toContain('x-api-key: ********');
    expect(text).toContain(
      'StepExecuted  ProxyRequest PreFlow verify-key (VerifyAPIKey) fault steps.oauth.v2.InvalidApiKey in 0.090ms',
    );
    expect(text).toContain('condition request.verb = "POST" -> true');
    expect(text).toContain('read  request.header.x-api-key = ********');
    expect(text).toContain('set   fault.name = InvalidApiKey');
    expect(renderTrace(session, [])).toContain('No transactions captured yet.');
    const json = JSON.parse(renderTraceJson(session, [])) as { session: Record<string, unknown> };
    expect(json.session).toMatchObject({ name: 'orders-1', id: 'u-1', proxy: 'orders', count: 2, captured: 1 });
  });
});
