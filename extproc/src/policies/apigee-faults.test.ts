// Faults as Apigee writes them (docs/policies.md#apigee-fault-differences), through the real engine and
// registry: one error code per threat policy, `fault.name`, the `{prefix}.{policy}.failed` variable a
// fault rule written for Apigee tests, and the `faultStatus` switch that restores Apigee's 500.
import { describe, expect, it } from 'vitest';
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { compileProxy } from '../flow/compile.ts';
import { FlowRun } from '../flow/engine.ts';
import { makePolicyContext, type PolicyContextOptions } from '../flow/policy-context.test-support.ts';
import { policyRegistry } from './registry.ts';

const policy = (type: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
  ...extra,
});

const isTrue = (variable: string) => ({
  comparison: { operator: 'EQUALS' as const, left: { variable }, right: { boolean: true } },
});

async function run(proxy: Proxy, opts: PolicyContextOptions) {
  const snapshot = decodeRuntimeSnapshot({
    proxies: [{ namespace: 'ns', name: 'p', route: 'ns/p', basePath: '/api', ...proxy }],
  });
  const compiled = compileProxy(snapshot.proxies[0]!, policyRegistry);
  const ctx = makePolicyContext({ path: '/api/orders', method: 'POST', proxy: { basePath: '/api' }, ...opts });
  const outcome = await new FlowRun(compiled, ctx.exchange).runRequest();
  if (outcome.action !== 'respond') throw new Error('expected a fault response');
  return { response: outcome.response, variables: ctx.exchange.variables };
}

const deep = '{"a":{"b":{"c":1}}}';

describe('Apigee faults of the threat policies', () => {
  it('JSONThreatProtection: steps.jsonthreatprotection.ExecutionFailed, fault.name, jsonattack.{name}.failed; a fault rule on it runs', async () => {
    const { response, variables } = await run(
      {
        policies: {
          'JTP-1': policy('JSONThreatProtection', { containerDepth: 2 }),
          mark: policy('AssignMessage', { set: { headers: { 'x-caught': 'jsonattack' } } }),
        },
        flows: { preFlow: { request: [{ policy: 'JTP-1' }] } },
        faultRules: [{ name: 'threat', condition: isTrue('jsonattack.JTP-1.failed'), steps: [{ policy: 'mark' }] }],
      },
      { body: deep, contentType: 'application/json' },
    );
    const body = JSON.parse(response.body.text()) as { fault: { faultstring: string; detail: { errorcode: string } } };
    expect([response.status, body.fault.detail.errorcode, response.headers.get('x-caught')]).toEqual([
      400,
      'steps.jsonthreatprotection.ExecutionFailed',
      'jsonattack',
    ]);
    expect(body.fault.faultstring).toBe(
      'JSONThreatProtection[JTP-1]: Execution failed. reason: ContainerDepthExceeded: Exceeded container depth, max 2 allowed',
    );
    expect([variables.get('fault.name'), variables.get('jsonattack.JTP-1.failed')]).toEqual(['ExecutionFailed', true]);
  });

  it('faultStatus: 500 restores Apigee status for JSON, XML and regex body faults', async () => {
    const json = await run(
      {
        policies: { j: policy('JSONThreatProtection', { containerDepth: 2, faultStatus: 500 }) },
        flows: { preFlow: { request: [{ policy: 'j' }] } },
      },
      { body: deep, contentType: 'application/json' },
    );
    const xml = await run(
      {
        policies: { x: policy('XMLThreatProtection', { structureLimits: { nodeDepth: 1 }, faultStatus: 500 }) },
        flows: { preFlow: { request: [{ policy: 'x' }] } },
      },
      { body: '<a><b/></a>', contentType: 'application/xml' },
    );
    const regex = await run(
      {
        policies: {
          r: policy('RegularExpressionProtection', {
            jsonPayload: [{ expression: '$.a', patterns: ['x'] }],
            faultStatus: 500,
          }),
        },
        flows: { preFlow: { request: [{ policy: 'r' }] } },
      },
      { body: '{"a":', contentType: 'application/json' },
    );
    expect([json.response.status, xml.response.status, regex.response.status]).toEqual([500, 500, 500]);
    expect([
      xml.variables.get('error.code'),
      xml.variables.get('xmlattack.x.failed'),
      regex.variables.get('error.code'),
      regex.variables.get('regularexpressionprotection.r.failed'),
    ]).toEqual(['steps.xmlthreatprotection.ExecutionFailed', true, 'steps.regexprotection.ExecutionFailed', true]);
  });

  it('a DOCTYPE (entity declarations) is an ExecutionFailed that names DTDNotAllowed', async () => {
    const { response } = await run(
      {
        policies: { x: policy('XMLThreatProtection', {}) },
        flows: { preFlow: { request: [{ policy: 'x' }] } },
      },
      { body: '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', contentType: 'text/xml' },
    );
    expect(response.body.text()).toContain('reason: DTDNotAllowed:');
  });

  it('a source the phase does not have is SourceUnavailable (500), as Apigee answers', async () => {
    const { response, variables } = await run(
      {
        policies: { j: policy('JSONThreatProtection', { source: 'response' }) },
        flows: { preFlow: { request: [{ policy: 'j' }] } },
      },
      { body: deep, contentType: 'application/json' },
    );
    expect([response.status, variables.get('error.code'), variables.get('error.message')]).toEqual([
      500,
      'steps.jsonthreatprotection.SourceUnavailable',
      'JSONThreatProtection[j]: Source response is not available',
    ]);
  });

  it('AccessControl sets acl.{name}.failed; continueOnError keeps the variables for later steps', async () => {
    const snapshot = decodeRuntimeSnapshot({
      proxies: [
        {
          namespace: 'ns',
          name: 'p',
          route: 'ns/p',
          basePath: '/api',
          policies: {
            'AC-1': policy('AccessControl', { noRuleMatchAction: 'Deny', rules: [] }, { continueOnError: true }),
          },
          flows: { preFlow: { request: [{ policy: 'AC-1' }] } },
        },
      ],
    });
    const ctx = makePolicyContext({ path: '/api/orders', proxy: { basePath: '/api' } });
    const outcome = await new FlowRun(compileProxy(snapshot.proxies[0]!, policyRegistry), ctx.exchange).runRequest();
    expect(outcome).toEqual({ action: 'continue' });
    expect([ctx.exchange.variables.get('acl.AC-1.failed'), ctx.exchange.variables.get('fault.name')]).toEqual([
      true,
      'IPDeniedAccess',
    ]);
  });
});
