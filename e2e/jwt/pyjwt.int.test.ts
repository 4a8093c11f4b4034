// Interop with a JWT library we did not write (PyJWT, pinned in e2e/env/python/requirements.txt):
// tokens GenerateJWT signs verify with PyJWT, and tokens PyJWT signs verify with VerifyJWT, for RS256,
// PS256, ES256, EdDSA and HS256 with keys made here.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JwtAlgorithm } from '../../protos/policies/security/jwt-common.ts';
import type { PolicyFault } from '../../extproc/src/flow/faults.ts';
import { makePolicyContext } from '../../extproc/src/flow/policy-context.test-support.ts';
import { generateJwtPolicy } from '../../extproc/src/policies/security/generate-jwt.ts';
import { verifyJwtPolicy } from '../../extproc/src/policies/security/verify-jwt.ts';
import { runPython } from '../env/python.ts';

const meta = { namespace: 'default', name: 'interop' };
const pem = (key: KeyObject, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const HMAC = 'interop-secret-with-at-least-32-bytes-of-entropy';

interface Case {
  alg: JwtAlgorithm;
  privateKey: string;
  publicKey: string;
}

const cases: Case[] = [
  { alg: 'RS256', privateKey: pem(rsa.privateKey, 'pkcs8'), publicKey: pem(rsa.publicKey, 'spki') },
  { alg: 'PS256', privateKey: pem(rsa.privateKey, 'pkcs8'), publicKey: pem(rsa.publicKey, 'spki') },
  { alg: 'ES256', privateKey: pem(ec.privateKey, 'pkcs8'), publicKey: pem(ec.publicKey, 'spki') },
  { alg: 'EdDSA', privateKey: pem(ed.privateKey, 'pkcs8'), publicKey: pem(ed.publicKey, 'spki') },
  { alg: 'HS256', privateKey: HMAC, publicKey: HMAC },
];

const keyConfig = (c: Case, which: 'privateKey' | 'publicKey') =>
  c.alg === 'HS256'
    ? { secretKey: { value: { ref: 'key.material' } } }
    : { [which]: { value: { ref: 'key.material' } } };

// Verifies each token with PyJWT (issuer and audience checked, exp required) and signs one with each key.
const PYTHON = `
import json, sys, time, jwt
cases = json.load(sys.stdin)
out = []
for c in cases:
    claims = jwt.decode(c["token"], c["publicKey"], algorithms=[c["alg"]], audience="shop",
                        issuer="https://gatehouse.test", options={"require": ["exp", "iat"]})
    signed = jwt.encode({"iss": "https://pyjwt.test", "sub": "py", "aud": "gatehouse", "iat": int(time.time()),
                         "exp": int(time.time()) + 600, "scope": ["read", "write"]},
                        c["privateKey"], algorithm=c["alg"], headers={"kid": "py-1"})
    out.append({"alg": c["alg"], "claims": claims, "signed": signed})
print(json.dumps(out))
`;

describe('JWT interop with PyJWT', () => {
  it('GenerateJWT tokens verify with PyJWT; PyJWT tokens verify with VerifyJWT', async () => {
    const tokens: Array<Case & { token: string }> = [];
    for (const c of cases) {
      const ctx = makePolicyContext({ now: Date.now(), variables: { 'key.material': c.privateKey } });
      await generateJwtPolicy.create(
        {
          algorithm: c.alg,
          ...keyConfig(c, 'privateKey'),
          issuer: 'https://gatehouse.test',
          audience: 'shop',
          subject: 'alice',
          expiresIn: '10m',
          additionalClaims: [{ name: 'level', value: '3', type: 'number' }],
          outputVariable: 'out',
        },
        meta,
      )(ctx);
      tokens.push({ ...c, token: ctx.variables.getString('out')! });
    }
    const results = JSON.parse(await runPython(PYTHON, [], JSON.stringify(tokens))) as Array<{
      alg: string;
      claims: Record<string, unknown>;
      signed: string;
    }>;
    expect(results.map((r) => [r.alg, r.claims.sub, r.claims.level])).toEqual(cases.map((c) => [c.alg, 'alice', 3]));
    for (const [i, r] of results.entries()) {
      const c = cases[i]!;
      const ctx = makePolicyContext({
        now: Date.now(),
        variables: { 'key.material': c.publicKey },
        headers: { authorization: `Bearer ${r.signed}` },
      });
      const step = verifyJwtPolicy.create(
        { algorithms: [c.alg], ...keyConfig(c, 'publicKey'), issuer: 'https://pyjwt.test', audience: 'gatehouse' },
        meta,
      );
      let fault: PolicyFault | undefined;
      try {
        await step(ctx);
      } catch (err) {
        fault = err as PolicyFault;
      }
      expect(fault?.errorCode, c.alg).toBeUndefined();
      expect(ctx.variables.get('jwt.interop.claim.scope')).toBe('read,write');
      expect(ctx.variables.get('jwt.interop.decoded.header.kid')).toBe('py-1');
    }
  });
});
