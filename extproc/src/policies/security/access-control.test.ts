import { describe, expect, it } from 'vitest';
import type { AccessControlConfig } from '../../../../protos/policies/security/access-control.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { accessControlPolicy, DECISION_CACHE_SIZE } from './access-control.ts';

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

  // One step remembers its decision per address text (docs/architecture.md#the-policies-per-request-work-issue-20).
  describe('decisions remembered by one step', () => {
    function stepAllows(step: ReturnType<typeof accessControlPolicy.create>) {
      return (clientIp: string, xff?: string) => {
        const ctx = makePolicyContext({ clientIp, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
        try {
          void step(ctx);
          return true;
        } catch (error) {
          expect((error as PolicyFault).errorCode).toBe('accesscontrol.IPDeniedAccess');
          return false;
        }
      };
    }

    it('decides every address on its own, whatever was decided before, in every spelling', () => {
      const allows = stepAllows(accessControlPolicy.create(denyDocNet, meta));
      for (let round = 0; round < 3; round++) {
        expect(allows('198.51.100.1')).toBe(true);
        expect(allows('203.0.113.9')).toBe(false);
        expect(allows('::ffff:203.0.113.9')).toBe(false);
        expect(allows('::FFFF:203.0.113.9')).toBe(false);
        expect(allows(' 203.0.113.9 ')).toBe(false);
        expect(allows('not-an-ip')).toBe(false);
        expect(allows('')).toBe(false);
      }
    });

    it('a client cycling through more addresses than it remembers gets every decision right', () => {
      const allows = stepAllows(accessControlPolicy.create(denyDocNet, meta));
      expect(allows('203.0.113.200')).toBe(false);
      for (let i = 0; i < DECISION_CACHE_SIZE + 50; i++) {
        const denied = i % 2 === 0;
        const address = denied ? `203.0.113.${i % 256}` : `2001:db8::${i.toString(16)}`;
        expect(allows(address)).toBe(!denied);
      }
      expect(allows('203.0.113.200')).toBe(false);
      expect(allows('198.51.100.1')).toBe(true);
    });

    it('an address allowed alone is denied in an X-Forwarded-For list with an unreadable one', () => {
      for (const validateBasedOn of ['XForwardedForFirstIP', 'XForwardedForLastIP', 'XForwardedForAllIPs'] as const) {
        const allows = stepAllows(accessControlPolicy.create({ ...denyDocNet, validateBasedOn }, meta));
        expect(allows('127.0.0.1', '198.51.100.1')).toBe(true);
        expect(allows('127.0.0.1', '198.51.100.1,evil')).toBe(false);
        expect(allows('127.0.0.1', 'evil, 198.51.100.1')).toBe(false);
        expect(allows('127.0.0.1', '198.51.100.1, 203.0.113.9')).toBe(validateBasedOn === 'XForwardedForFirstIP');
        expect(allows('127.0.0.1', '198.51.100.1')).toBe(true);
      }
    });
  });

  it('rejects bad CIDR blocks at create()', () => {
    expect(() =>
      accessControlPolicy.create({ rules: [{ action: 'Deny', sourceAddresses: ['10.0.0.0/40'] }] }, meta),
    ).toThrow(PolicyConfigError);
  });
});
