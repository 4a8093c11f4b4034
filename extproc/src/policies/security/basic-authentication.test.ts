import { describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { basicAuthenticationPolicy, decodeBasic } from './basic-authentication.ts';

const meta = { namespace: 'shop', name: 'basic' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('BasicAuthentication', () => {
  it('encodes user and password into the Authorization header', () => {
    const step = basicAuthenticationPolicy.create(
      { operation: 'Encode', user: { ref: 'cred.user' }, password: { ref: 'cred.password' } },
      meta,
    );
    const ctx = makePolicyContext({ variables: { 'cred.user': 'alice', 'cred.password': 's3cr:et' } });
    void step(ctx); // a synchronous policy: done, or thrown, on return
    expect(ctx.request.headers.get('authorization')).toBe(`Basic ${b64('alice:s3cr:et')}`);
  });

  it("encodes into another variable, the password from a Secret key in the snapshot's policy secrets", () => {
    const step = basicAuthenticationPolicy.create(
      { operation: 'Encode', user: 'u', password: { secretRef: { name: 'up', key: 'pw' } }, assignTo: 'upstream.auth' },
      meta,
    );
    const ctx = makePolicyContext({ snapshot: { policySecrets: { 'shop/up/pw': 'p' } } });
    void step(ctx); // a synchronous policy: done, or thrown, on return
    expect(ctx.variables.get('upstream.auth')).toBe(`Basic ${b64('u:p')}`);
  });

  it('faults with UnresolvedVariable when an encode input is unset, naming never a value', () => {
    const missingRef = basicAuthenticationPolicy.create(
      { operation: 'Encode', user: { ref: 'missing' }, password: { ref: 'p' } },
      meta,
    );
    expect(() => missingRef(makePolicyContext({ variables: { p: 'x' } }))).toThrow(
      expect.objectContaining({ status: 500, errorCode: 'steps.basicauthentication.UnresolvedVariable' }),
    );
    const missingSecret = basicAuthenticationPolicy.create(
      { operation: 'Encode', user: 'u', password: { secretRef: { name: 'up', key: 'pw' } } },
      meta,
    );
    expect(() => missingSecret(makePolicyContext())).toThrow('Unresolved variable : secretRef up/pw');
  });

  it('refuses an inline Encode password at create(): it would stand in the snapshot in clear', () => {
    expect(() => basicAuthenticationPolicy.create({ operation: 'Encode', user: 'u', password: 'p' }, meta)).toThrow(
      /basicAuthentication\.password: a literal password would stand in the snapshot in clear/,
    );
  });

  it('decodes the Authorization header into variables', () => {
    const step = basicAuthenticationPolicy.create(
      { operation: 'Decode', user: { ref: 'auth.user' }, password: { ref: 'auth.password' } },
      meta,
    );
    const ctx = makePolicyContext({ headers: { authorization: `basic ${b64('bob:pa:ss wörd')}` } });
    void step(ctx); // a synchronous policy: done, or thrown, on return
    expect(ctx.variables.get('auth.user')).toBe('bob');
    expect(ctx.variables.get('auth.password')).toBe('pa:ss wörd');
  });

  it.each([
    ['missing', undefined],
    ['not Basic', 'Bearer abc'],
    ['not base64', 'Basic !!!'],
    ['badly padded', 'Basic abc'],
    ['without a colon', `Basic ${b64('nocolon')}`],
  ])('rejects a %s header with 401 InvalidBasicAuthenticationSource', (_what, header) => {
    const step = basicAuthenticationPolicy.create(
      { operation: 'Decode', user: { ref: 'u' }, password: { ref: 'p' } },
      meta,
    );
    const ctx = makePolicyContext({ headers: header === undefined ? {} : { authorization: header } });
    try {
      void step(ctx); // a synchronous policy: done, or thrown, on return
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyFault);
      expect(error).toMatchObject({
        status: 401,
        errorCode: 'steps.basicauthentication.InvalidBasicAuthenticationSource',
        headers: { 'www-authenticate': 'Basic' },
      });
    }
  });

  it("faultStatus: 500 answers Apigee's status, without a challenge", () => {
    const step = basicAuthenticationPolicy.create(
      { operation: 'Decode', user: { ref: 'u' }, password: { ref: 'p' }, faultStatus: 500 },
      meta,
    );
    expect(() => step(makePolicyContext({ headers: { authorization: 'Bearer abc' } }))).toThrow(
      expect.objectContaining({
        status: 500,
        errorCode: 'steps.basicauthentication.InvalidBasicAuthenticationSource',
        headers: {},
      }),
    );
  });

  it('refuses Decode into literals at create()', () => {
    expect(() =>
      basicAuthenticationPolicy.create({ operation: 'Decode', user: 'x', password: { ref: 'p' } }, meta),
    ).toThrow(PolicyConfigError);
  });

  it('round-trips what it encodes', () => {
    expect(decodeBasic(`Basic ${b64('a:b')}`)).toEqual({ user: 'a', password: 'b' });
    expect(decodeBasic(`Basic ${b64(':')}`)).toEqual({ user: '', password: '' });
  });
});
