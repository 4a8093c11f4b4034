// The published signature examples, byte for byte: RFC 7520 ("Examples of Protecting Content Using
// JOSE") section 4.1 RS256, 4.2 PS384, 4.3 ES512, 4.4 HS256 and 4.5 HS256 with detached content, in
// their compact serializations, through VerifyJWS; and the RFC 7519 section 3.1 example JWT through
// VerifyJWT (its exp, 1300819380, is in 2011: the clock is set before it). Each vector is also checked
// with one signature byte changed, so a verifier that accepted anything would fail here. The JSON
// serializations (RFC 7520 4.6-4.8, general and flattened JSON) are out of scope: Gatehouse's policies
// take compact tokens only.
import { describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../../flow/types.ts';
import { verifyJwsPolicy } from './verify-jws.ts';
import { verifyJwtPolicy } from './verify-jwt.ts';

const meta = { namespace: 'default', name: 'rfc' };

// RFC 7520 section 4: the payload of every signature example (Figure 7), with its U+2019 apostrophes.
const RFC7520_PAYLOAD =
  "It\u2019s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there\u2019s no knowing where you might be swept off to.";

// RFC 7520 section 3.4 (Figure 4), the RSA key of 4.1 and 4.2: its public members.
const RFC7520_RSA_PUBLIC = {
  kty: 'RSA',
  kid: 'bilbo.baggins@hobbiton.example',
  use: 'sig',
  n: 'n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw',
  e: 'AQAB',
};

// RFC 7520 section 3.2 (Figure 2), the P-521 key of 4.3: its public members.
const RFC7520_EC_PUBLIC = {
  kty: 'EC',
  kid: 'bilbo.baggins@hobbiton.example',
  use: 'sig',
  crv: 'P-521',
  x: 'AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt',
  y: 'AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1',
};

// RFC 7520 section 3.5 (Figure 5), the symmetric key of 4.4 and 4.5: k, base64url (32 bytes).
const RFC7520_HMAC_K = 'hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg';

// RFC 7520 4.1.3 (Figure 13).
const RFC7520_4_1 =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg';
// RFC 7520 4.2.3 (Figure 20).
const RFC7520_4_2 =
  'eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw';
// RFC 7520 4.3.3 (Figure 27).
const RFC7520_4_3 =
  'eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2';
// RFC 7520 4.4.3 (Figure 34).
const RFC7520_4_4 =
  'eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0';
// RFC 7520 4.5.3 (Figure 41): the 4.4 signature with the payload detached.
const RFC7520_4_5 =
  'eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9..s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0';

// RFC 7519 section 3.1: the example JWT, HMAC SHA-256 with the key of RFC 7515 Appendix A.1.
const RFC7519_3_1 =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC7515_A1_K = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';

async function outcome(step: PolicyStep, ctx: ReturnType<typeof makePolicyContext>): Promise<PolicyFault | undefined> {
  try {
    await step(ctx);
    return undefined;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
}

/** The token with the first character of its signature changed (still base64url). */
function forge(token: string): string {
  const at = token.lastIndexOf('.') + 1;
  const swapped = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${swapped}${token.slice(at + 1)}`;
}

const jwksOf = (jwk: object) => JSON.stringify({ keys: [jwk] });

describe('RFC 7520 section 4, compact serializations, through VerifyJWS', () => {
  it.each([
    ['4.1 RS256', 'RS256', RFC7520_RSA_PUBLIC, RFC7520_4_1],
    ['4.2 PS384', 'PS384', RFC7520_RSA_PUBLIC, RFC7520_4_2],
    ['4.3 ES512', 'ES512', RFC7520_EC_PUBLIC, RFC7520_4_3],
  ] as const)(
    '%s verifies with the public key as a JWKS (kid selects it), and not once forged',
    async (_n, alg, jwk, jws) => {
      const step = verifyJwsPolicy.create(
        { algorithms: [alg], publicKey: { jwks: { ref: 'keys' } }, source: 'jws' },
        meta,
      );
      const ctx = makePolicyContext({ variables: { keys: jwksOf(jwk), jws } });
      expect(await outcome(step, ctx)).toBeUndefined();
      expect(ctx.variables.get('jws.rfc.payload')).toBe(RFC7520_PAYLOAD);
      expect(ctx.variables.get('jws.rfc.valid')).toBe(true);
      expect(ctx.variables.get('jws.rfc.decoded.header.kid')).toBe('bilbo.baggins@hobbiton.example');
      const forged = await outcome(step, makePolicyContext({ variables: { keys: jwksOf(jwk), jws: forge(jws) } }));
      expect([forged?.errorCode, forged?.status]).toEqual(['steps.jws.InvalidSignature', 401]);
    },
  );

  it('4.4 HS256 verifies with the symmetric key (base64url), and not once forged or with another key', async () => {
    const step = verifyJwsPolicy.create(
      { algorithms: ['HS256'], secretKey: { value: { ref: 'k' }, encoding: 'base64url' }, source: 'jws' },
      meta,
    );
    const ctx = makePolicyContext({ variables: { k: RFC7520_HMAC_K, jws: RFC7520_4_4 } });
    expect(await outcome(step, ctx)).toBeUndefined();
    expect(ctx.variables.get('jws.rfc.payload')).toBe(RFC7520_PAYLOAD);
    const forged = await outcome(
      step,
      makePolicyContext({ variables: { k: RFC7520_HMAC_K, jws: forge(RFC7520_4_4) } }),
    );
    expect(forged?.errorCode).toBe('steps.jws.InvalidSignature');
    const otherKey = await outcome(step, makePolicyContext({ variables: { k: RFC7515_A1_K, jws: RFC7520_4_4 } }));
    expect(otherKey?.errorCode).toBe('steps.jws.InvalidSignature');
  });

  it('4.5 HS256, detached content: verifies against the payload in a variable, not against another', async () => {
    const step = verifyJwsPolicy.create(
      {
        algorithms: ['HS256'],
        secretKey: { value: { ref: 'k' }, encoding: 'base64url' },
        source: 'jws',
        detachedContent: 'content',
      },
      meta,
    );
    const good = makePolicyContext({ variables: { k: RFC7520_HMAC_K, jws: RFC7520_4_5, content: RFC7520_PAYLOAD } });
    expect(await outcome(step, good)).toBeUndefined();
    const changed = makePolicyContext({
      variables: { k: RFC7520_HMAC_K, jws: RFC7520_4_5, content: RFC7520_PAYLOAD.replace('Frodo', 'Sam') },
    });
    expect((await outcome(step, changed))?.errorCode).toBe('steps.jws.InvalidSignature');
    const forged = makePolicyContext({
      variables: { k: RFC7520_HMAC_K, jws: forge(RFC7520_4_5), content: RFC7520_PAYLOAD },
    });
    expect((await outcome(step, forged))?.errorCode).toBe('steps.jws.InvalidSignature');
  });

  it('an RS256 example is refused where only PS384 is allowed (the allow-list, not the header, decides)', async () => {
    const step = verifyJwsPolicy.create(
      { algorithms: ['PS384'], publicKey: { jwks: { ref: 'keys' } }, source: 'jws' },
      meta,
    );
    const fault = await outcome(
      step,
      makePolicyContext({ variables: { keys: jwksOf(RFC7520_RSA_PUBLIC), jws: RFC7520_4_1 } }),
    );
    expect(fault?.errorCode).toBe('steps.jws.AlgorithmInTokenNotPresentInConfiguration');
  });
});

describe('RFC 7519 section 3.1, through VerifyJWT and VerifyJWS', () => {
  const before = Date.UTC(2011, 2, 22, 18, 0, 0); // 1300816800 s, before exp 1300819380
  const step = verifyJwtPolicy.create(
    { algorithms: ['HS256'], secretKey: { value: { ref: 'k' }, encoding: 'base64url' }, source: 'jwt' },
    meta,
  );

  it('verifies before its exp, with its claims in the variables', async () => {
    const ctx = makePolicyContext({ now: before, variables: { k: RFC7515_A1_K, jwt: RFC7519_3_1 } });
    expect(await outcome(step, ctx)).toBeUndefined();
    expect(ctx.variables.get('jwt.rfc.claim.issuer')).toBe('joe');
    expect(ctx.variables.get('jwt.rfc.claim.http://example.com/is_root')).toBe(true);
    expect(ctx.variables.get('jwt.rfc.valid')).toBe(true);
  });

  it('is TokenExpired after its exp, and InvalidToken forged', async () => {
    const late = makePolicyContext({ now: Date.UTC(2026, 0, 1), variables: { k: RFC7515_A1_K, jwt: RFC7519_3_1 } });
    expect((await outcome(step, late))?.errorCode).toBe('steps.jwt.TokenExpired');
    const forged = makePolicyContext({ now: before, variables: { k: RFC7515_A1_K, jwt: forge(RFC7519_3_1) } });
    expect((await outcome(step, forged))?.errorCode).toBe('steps.jwt.InvalidToken');
  });

  it('VerifyJWS accepts it too (a JWT is a JWS), its payload byte for byte', async () => {
    const jws = verifyJwsPolicy.create(
      { algorithms: ['HS256'], secretKey: { value: { ref: 'k' }, encoding: 'base64url' }, source: 'jwt' },
      meta,
    );
    const ctx = makePolicyContext({ variables: { k: RFC7515_A1_K, jwt: RFC7519_3_1 } });
    expect(await outcome(jws, ctx)).toBeUndefined();
    expect(ctx.variables.get('jws.rfc.payload')).toBe(
      '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    );
  });
});

describe('InsufficientKeyLength in the JWS policies', () => {
  it('the RFC 7520 4.4 token with its key cut to 31 bytes is InsufficientKeyLength, not a signature failure', async () => {
    const short = Buffer.from(RFC7520_HMAC_K, 'base64url').subarray(0, 31).toString('base64url');
    const step = verifyJwsPolicy.create(
      { algorithms: ['HS256'], secretKey: { value: { ref: 'k' }, encoding: 'base64url' }, source: 'jws' },
      meta,
    );
    const fault = await outcome(step, makePolicyContext({ variables: { k: short, jws: RFC7520_4_4 } }));
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jws.InsufficientKeyLength', 401]);
  });
});
