// Interop of OAuthV2's JWT access tokens with PyJWT (pinned in e2e/env/python/requirements.txt): a
// token GenerateJWTAccessToken issues (RS256 and HS256) verifies with PyJWT, which checks the
// signature, the at+JWT type, the issuer and exp, and reads Apigee's claims; the same token with one
// claim changed is refused by PyJWT too.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OAuthV2Config } from '../../protos/policies/security/oauth-v2.ts';
import { makePolicyContext } from '../../extproc/src/flow/policy-context.test-support.ts';
import { oauthV2Policy } from '../../extproc/src/policies/security/oauth-v2.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { runPython } from '../env/python.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HMAC = 'pyjwt-access-token-secret-at-least-32-bytes';

const snapshot = {
  credentialHashKey: HASH_KEY,
  products: [
    { namespace: 'pyjwt-at', name: 'p', proxies: ['orders'], resources: ['/**'], scopes: ['read'], attributes: {} },
  ],
  apps: [
    {
      namespace: 'pyjwt-at',
      name: 'app',
      developerEmail: 'dev@example.com',
      status: 'Approved',
      callbackUrl: '',
      products: [{ name: 'p', status: 'Approved' }],
      credentials: [{ keyHash: hash('py-client'), secretHash: hash('py-secret'), status: 'Approved' }],
    },
  ],
};

async function issue(config: Partial<OAuthV2Config>): Promise<string> {
  const ctx = makePolicyContext({
    now: Date.now(),
    proxy: { namespace: 'pyjwt-at', name: 'orders', route: 'pyjwt-at/orders', basePath: '/pyjwt-at/oauth' },
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('py-client:py-secret').toString('base64')}` },
    contentType: 'application/x-www-form-urlencoded',
    body: 'grant_type=client_credentials&scope=read',
    snapshot,
    stores: createMemoryStores(Date.now),
    variables: { 'key.private': rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'key.hmac': HMAC },
  });
  const result = await oauthV2Policy.create(
    { operation: 'GenerateJWTAccessToken', generateResponse: true, ...config },
    { namespace: 'pyjwt-at', name: 'token' },
  )(ctx);
  if (!result) throw new Error('no token response');
  return (JSON.parse(result.respond.body) as { access_token: string }).access_token;
}

const PYTHON = `
import json, sys, jwt
cases = json.load(sys.stdin)
out = []
for c in cases:
    header = jwt.get_unverified_header(c["token"])
    claims = jwt.decode(c["token"], c["key"], algorithms=[c["alg"]], issuer="http://gateway.test/pyjwt-at/oauth",
                        options={"require": ["exp", "iat", "jti", "sub"], "verify_aud": False})
    try:
        jwt.decode(c["tampered"], c["key"], algorithms=[c["alg"]], options={"verify_aud": False})
        tampered = "accepted"
    except jwt.InvalidSignatureError:
        tampered = "InvalidSignatureError"
    out.append({"typ": header["typ"], "claims": claims, "tampered": tampered})
print(json.dumps(out))
`;

describe('OAuthV2 JWT access tokens: interop with PyJWT', () => {
  it('RS256 and HS256 access tokens verify with PyJWT, and a changed scope does not', async () => {
    const cases = [];
    for (const [alg, config, key] of [
      [
        'RS256',
        { algorithm: 'RS256', privateKey: { value: { ref: 'key.private' } } },
        rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ],
      ['HS256', { algorithm: 'HS256', secretKey: { value: { ref: 'key.hmac' } } }, HMAC],
    ] as const) {
      const token = await issue(config);
      const [h, p, s] = token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url')}.${s}`;
      cases.push({ alg, token, key, tampered });
    }
    const results = JSON.parse(await runPython(PYTHON, [], JSON.stringify(cases))) as Array<{
      typ: string;
      claims: Record<string, unknown>;
      tampered: string;
    }>;
    for (const r of results) {
      expect(r.typ).toBe('at+JWT');
      expect(r.claims).toMatchObject({ sub: 'py-client', client_id: 'py-client', scope: 'read' });
      expect(r.tampered).toBe('InvalidSignatureError');
    }
    expect(results).toHaveLength(2);
  });
});
