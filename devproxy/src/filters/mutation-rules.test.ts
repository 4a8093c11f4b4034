import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { MutationRules } from '../config/model.ts';
import { mutationCheck } from './mutation-rules.ts';

const rules = (over: Partial<MutationRules> = {}): MutationRules => ({
  allowAllRouting: false,
  allowEnvoy: false,
  disallowSystem: false,
  disallowAll: false,
  disallowIsError: false,
  ...over,
});

describe('mutation rules', () => {
  it('refuses routing and x-envoy-* headers by default, allows the rest', () => {
    const check = mutationCheck(rules());
    expect(['host', ':authority', ':method', ':scheme', 'x-envoy-retry-on'].map((h) => check(h, 'v'))).toEqual(
      Array(5).fill('ignore'),
    );
    expect(check(':path', '/x')).toBe('allow');
    expect(check('x-custom', 'v')).toBe('allow');
  });

  it('follows allow_all_routing, allow_envoy, disallow_system, disallow_all and the expressions', () => {
    expect(mutationCheck(rules({ allowAllRouting: true }))('host', 'a')).toBe('allow');
    expect(mutationCheck(rules({ allowEnvoy: true }))('x-envoy-x', 'a')).toBe('allow');
    expect(mutationCheck(rules({ disallowSystem: true, allowAllRouting: true }))(':authority', 'a')).toBe('ignore');
    expect(mutationCheck(rules({ disallowAll: true }))('x-custom', 'a')).toBe('ignore');
    expect(mutationCheck(rules({ disallowExpression: RE2JS.compile('x-secret.*') }))('x-secret-1', 'a')).toBe('ignore');
    expect(mutationCheck(rules({ allowExpression: RE2JS.compile('x-envoy-ok') }))('x-envoy-ok', 'a')).toBe('allow');
  });

  it('fails the request instead with disallow_is_error, and always for values with CR/LF/NUL', () => {
    expect(mutationCheck(rules({ disallowIsError: true }))('host', 'a')).toBe('fail');
    expect(mutationCheck(rules())('x-custom', 'a\r\nb: c')).toBe('fail');
  });
});
