import { describe, expect, it } from 'vitest';
import type { AccessControlConfig } from '../../../../protos/policies/security/access-control.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { accessControlPolicy } from './access-control.ts';

const meta = { namespace: 'shop', name: 'check-ip' };

function allowed(config: AccessControlConfig, clientIp: string, xff?: string | string[]): boolean {
  const step = accessControlPolicy.create(config, meta);
  const ctx = makePolicyContext({ clientIp, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
  try {
    void step(ctx); // a synchronous policy: done, or thrown, on return
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFault);
    expect((error as PolicyFault).status).toBe(403);
    expect((error as PolicyFault).errorCode).toBe('accesscontrol.IPDeniedAccess');
    return false;
  }
}

describe('AccessControl', () => {
  const denyDocNet: AccessControlConfig = {
    noRuleMatchAction: 'Allow',
    rules: [{ action: 'Deny', sourceAddresses: ['203.0.113.0/24'] }],
  };

  it('denies a client in a denied IPv4 block and allows others (docs/policies.md)', () => {
    expect(allowed(denyDocNet, '203.0.113.9')).toBe(false);
    expect(allowed(denyDocNet, '198.51.100.1')).toBe(true);
    expect(allowed(denyDocNet, '::ffff:203.0.113.9')).toBe(false);
  });

  it('matches IPv6 blocks and single addresses', () => {
    const config: AccessControlConfig = {
      noRuleMatchAction: 'Deny',
      rules: [{ action: 'Allow', sourceAddresses: ['2001:db8::/32', '10.1.2.3'] }],
    };
    expect(allowed(config, '2001:db8:1::5')).toBe(true);
    expect(allowed(config, '2001:db9::1')).toBe(false);
    expect(allowed(config, '10.1.2.3')).toBe(true);
    expect(allowed(config, '10.1.2.4')).toBe(false);
  });

  it('uses the first matching rule', () => {
    const config: AccessControlConfig = {
      noRuleMatchAction: 'Deny',
      rules: [
        { action: 'Allow', sourceAddresses: ['10.0.0.5/32'] },
        { action: 'Deny', sourceAddresses: ['10.0.0.0/8'] },
      ],
    };
    expect(allowed(config, '10.0.0.5')).toBe(true);
    expect(allowed(config, '10.0.0.6')).toBe(false);
  });

  it('applies noRuleMatchAction (default Allow)', () => {
    expect(allowed({}, '1.2.3.4')).toBe(true);
    expect(allowed({ noRuleMatchAction: 'Deny' }, '1.2.3.4')).toBe(false);
  });

  it('reads X-Forwarded-For in the XForwardedFor modes', () => {
    const xff = '203.0.113.9, 198.51.100.1';
    expect(allowed({ ...denyDocNet, validateBasedOn: 'XForwardedForFirstIP' }, '127.0.0.1', xff)).toBe(false);
    expect(allowed({ ...denyDocNet, validateBasedOn: 'XForwardedForLastIP' }, '127.0.0.1', xff)).toBe(true);
    expect(allowed({ ...denyDocNet, validateBasedOn: 'XForwardedForAllIPs' }, '127.0.0.1', xff)).toBe(false);
    expect(allowed({ ...denyDocNet, validateBasedOn: 'XForwardedForAllIPs' }, '203.0.113.1', '198.51.100.1')).toBe(
      true,
    );
    // Several header lines are one list.
    expect(
      allowed({ ...denyDocNet, validateBasedOn: 'XForwardedForLastIP' }, '127.0.0.1', ['198.51.100.1', '203.0.113.7']),
    ).toBe(false);
  });

  it('denies a missing or malformed X-Forwarded-For', () => {
    const config: AccessControlConfig = { ...denyDocNet, validateBasedOn: 'XForwardedForFirstIP' };
    expect(allowed(config, '198.51.100.1')).toBe(false);
    expect(allowed(config, '198.51.100.1', 'not-an-ip')).toBe(false);
    expect(allowed(config, '198.51.100.1', '198.51.100.1, , 1.2.3.4')).toBe(false);
    expect(allowed(config, '198.51.100.1', '1.2.3.4:80')).toBe(false);
  });

  it('rejects bad CIDR blocks at create()', () => {
    expect(() =>
      accessControlPolicy.create({ rules: [{ action: 'Deny', sourceAddresses: ['10.0.0.0/40'] }] }, meta),
    ).toThrow(PolicyConfigError);
  });
});
