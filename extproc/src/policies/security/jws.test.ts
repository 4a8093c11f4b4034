// The JWS policies against the published examples (RFC 7515 Appendix A.1, A.2, A.3; RFC 7797 section
// 4.2, b64=false detached), our own round trips (compact and detached) and the JWS-specific faults.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../../flow/types.ts';
import { decodeJwsPolicy } from './decode-jws.ts';
import { generateJwsPolicy } from './generate-jws.ts';
import { verifyJwsPolicy } from './verify-jws.ts';

const meta = { namespace: 'default', name: 'jws-check' };

// RFC 7515 Appendix A: the payload of A.1-A.3, {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}.
const RFC7515_PAYLOAD = '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}';
// A.1: HS256 with this oct key (its k, base64url).
const RFC7515_A1_KEY_K = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';
const RFC7515_A1 =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
// A.2: RS256 with this RSA public key (n, e).
const RFC7515_A2_JWK = {
  kty: 'RSA',
  n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
};
const RFC7515_A2 =
  'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw';
// A.3: ES256 with this P-256 public key (x, y).
const RFC7515_A3_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};
const RFC7515_A3 =
  'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';
// RFC 7797 section 4.2: {"alg":"HS256","b64":false,"crit":["b64"]} over the payload "$.02", detached,
// with the RFC 7515 A.1 key.
const RFC7797_PAYLOAD = '$.02';
const RFC7797_DETACHED =
  'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY';

const hmacKey = { value: { ref: 'key.text' }, encoding: 'base64url' as const };

function context(opts: PolicyContextOptions = {}) {
  return makePolicyContext({ variables: { 'key.text': RFC7515_A1_KEY_K }, ...opts });
}

async function outcome(step: PolicyStep, ctx: ReturnType<typeof context>): Promise<PolicyFault | undefined> {
  try {
    await step(ctx);
    return undefined;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
}

describe('VerifyJWS: the RFC examples', () => {
  it('RFC 7515 A.1 (HS256)', async () => {
    const ctx = context({ variables: { 'key.text': RFC7515_A1_KEY_K, jws: RFC7515_A1 } });
    const step = verifyJwsPolicy.create({ algorithms: ['HS256'], secretKey: hmacKey, source: 'jws' }, meta);
    expect(await outcome(step, ctx)).toBeUndefined();
    expect(ctx.variables.get('jws.jws-check.payload')).toBe(RFC7515_PAYLOAD);
    expect(ctx.variables.get('jws.jws-check.valid')).toBe(true);
    expect(ctx.variables.get('jws.jws-check.decoded.header.typ')).toBe('JWT');
  });

  it.each([
    ['A.2 (RS256)', 'RS256', RFC7515_A2_JWK, RFC7515_A2],
    ['A.3 (ES256)', 'ES256', RFC7515_A3_JWK, RFC7515_A3],
  ] as const)('RFC 7515 %s, the key as an inline JWKS', async (_name, alg, jwk, token) => {
    const jwks = JSON.stringify({ keys: [jwk] });
    const ctx = context({ variables: { keys: jwks, jws: token } });
    const step = verifyJwsPolicy.create(
      { algorithms: [alg], publicKey: { jwks: { ref: 'keys' } }, source: 'jws' },
      meta,
    );
    expect(await outcome(step, ctx)).toBeUndefined();
    expect(ctx.variables.get('jws.jws-check.payload')).toBe(RFC7515_PAYLOAD);
    // One byte of the signature changed: InvalidSignature.
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const forged = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    const fault = await outcome(step, context({ variables: { keys: jwks, jws: forged } }));
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jws.InvalidSignature', 401]);
  });

  it('RFC 7797 4.2: b64=false, detached, its content in a variable', async () => {
    const ctx = context({ variables: { 'key.text': RFC7515_A1_KEY_K, jws: RFC7797_DETACHED, body: RFC7797_PAYLOAD } });
    const step = verifyJwsPolicy.create(
      { algorithms: ['HS256'], secretKey: hmacKey, source: 'jws', detachedContent: 'body' },
      meta,
    );
    expect(await outcome(step, ctx)).toBeUndefined();
    const other = context({ variables: { 'key.text': RFC7515_A1_KEY_K, jws: RFC7797_DETACHED, body: '$.03' } });
    expect((await outcome(step, other))?.errorCode).toBe('steps.jws.InvalidSignature');
  });
});

describe('GenerateJWS then VerifyJWS', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const variables = {
    'private.pem': ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'public.pem': ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    body: '{"amount":100}',
  };

  it('detached: header..signature, verified against the content', async () => {
    const ctx = context({ variables });
    await generateJwsPolicy.create(
      {
        algorithm: 'ES256',
        privateKey: { value: { ref: 'private.pem' } },
        payload: 'body',
        detachContent: true,
        outputVariable: 'sig',
      },
      meta,
    )(ctx);
    const jws = ctx.variables.getString('sig')!;
    expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/);
    const step = verifyJwsPolicy.create(
      { algorithms: ['ES256'], publicKey: { value: { ref: 'public.pem' } }, source: 'sig', detachedContent: 'body' },
      meta,
    );
    expect(await outcome(step, ctx)).toBeUndefined();
    ctx.variables.set('body', '{"amount":1000}');
    expect((await outcome(step, ctx))?.errorCode).toBe('steps.jws.InvalidSignature');
  });

  it('a detached JWS without detachedContent is MissingPayload; an attached one with it is ContentIsNotDetached', async () => {
    const ctx = context({ variables });
    await generateJwsPolicy.create(
      {
        algorithm: 'ES256',
        privateKey: { value: { ref: 'private.pem' } },
        payload: 'body',
        outputVariable: 'attached',
      },
      meta,
    )(ctx);
    const attached = ctx.variables.getString('attached')!;
    const [h, , s] = attached.split('.');
    ctx.variables.set('detached', `${h}..${s}`);
    const key = { publicKey: { value: { ref: 'public.pem' } } };
    expect(
      (await outcome(verifyJwsPolicy.create({ algorithms: ['ES256'], ...key, source: 'detached' }, meta), ctx))
        ?.errorCode,
    ).toBe('steps.jws.MissingPayload');
    expect(
      (
        await outcome(
          verifyJwsPolicy.create({ algorithms: ['ES256'], ...key, source: 'attached', detachedContent: 'body' }, meta),
          ctx,
        )
      )?.errorCode,
    ).toBe('steps.jws.ContentIsNotDetached');
    expect(
      await outcome(verifyJwsPolicy.create({ algorithms: ['ES256'], ...key, source: 'attached' }, meta), ctx),
    ).toBeUndefined();
    expect(ctx.variables.get('jws.jws-check.payload')).toBe('{"amount":100}');
  });

  it('alg none and an algorithm outside the list are refused', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('x').toString('base64url')}.`;
    const ctx = context({ variables: { ...variables, jws: none } });
    const step = verifyJwsPolicy.create(
      { algorithms: ['ES256'], publicKey: { value: { ref: 'public.pem' } }, source: 'jws' },
      meta,
    );
    expect((await outcome(step, ctx))?.errorCode).toBe('steps.jws.AlgorithmInTokenNotPresentInConfiguration');
  });

  it('DecodeJWS sets the header and the attached payload', async () => {
    const ctx = context({ variables: { jws: RFC7515_A3 } });
    await decodeJwsPolicy.create({ source: 'jws' }, meta)(ctx);
    expect(ctx.variables.get('jws.jws-check.decoded.header.alg')).toBe('ES256');
    expect(ctx.variables.get('jws.jws-check.payload')).toBe(RFC7515_PAYLOAD);
    const fault = await outcome(decodeJwsPolicy.create({ source: 'jws' }, meta), context({ variables: { jws: 'x' } }));
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jws.FailedToDecode', 401]);
  });
});
