// OAuthV2 against a client we did not write: Authlib's OAuth2Session (Python) drives Gatehouse's token
// and authorization endpoints through devproxy, for each grant type and both client authentication
// methods, then calls a VerifyAccessToken-protected API with what it got. Replays must fail as
// Authlib reports OAuth errors: a rotated refresh token and a redeemed code give invalid_grant.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPython } from '../env/python.ts';
import { closeServer, pathReady, proxyYaml, startEcho, startStack, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };

const policy = (name: string, config: string) => `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ${name}, namespace: test}
spec: {type: OAuthV2, oauthV2: ${config}}
---
`;

const flow = (policyName: string) => `flows: {preFlow: {request: [{policy: ${policyName}}]}}`;

beforeAll(async () => {
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(
    [
      proxyYaml({ name: 'token', basePath: '/oauth', upstreamPort: echo.port, flows: flow('issue') }),
      policy(
        'issue',
        '{operation: GenerateAccessToken, generateResponse: true, rfcCompliantRequestResponse: true, supportedGrantTypes: [client_credentials, password, authorization_code, refresh_token]}',
      ),
      proxyYaml({ name: 'authorize', basePath: '/authorize', upstreamPort: echo.port, flows: flow('code') }),
      policy('code', '{operation: GenerateAuthorizationCode, generateResponse: true}'),
      proxyYaml({ name: 'api', basePath: '/api', upstreamPort: echo.port, flows: flow('verify') }),
      policy('verify', '{operation: VerifyAccessToken, scope: read}'),
      `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: api, namespace: test}
spec: {proxies: [api], resources: ["/**"], scopes: [read, write], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: thirdparty, namespace: test}
spec:
  developer: {email: dev@example.com}
  callbackUrl: https://app.example.com/cb
  products: [{name: api, status: Approved}]
  credentials: [{secretRef: {name: thirdparty-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: thirdparty-key, namespace: test}
stringData: {consumerKey: tp-client, consumerSecret: "tp secret/+&="}
`,
    ].join('\n---\n'),
  );
  await pathReady(stack);
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

const SCRIPT = String.raw`
import json, sys, requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
base = sys.argv[1]
cid, secret = 'tp-client', 'tp secret/+&='
out = {}
def api(session):
    return session.get(base + '/api/data').status_code
def error_of(fn):
    try:
        fn()
        return 'accepted'
    except OAuthError as e:
        return e.error

for method in ['client_secret_basic', 'client_secret_post']:
    s = OAuth2Session(cid, secret, token_endpoint_auth_method=method)
    t = s.fetch_token(base + '/oauth/token', grant_type='client_credentials')
    out[method] = [t['token_type'], api(s)]
bad = OAuth2Session(cid, 'wrong')
out['wrong_secret'] = error_of(lambda: bad.fetch_token(base + '/oauth/token', grant_type='client_credentials'))

s = OAuth2Session(cid, secret, scope='read')
t = s.fetch_token(base + '/oauth/token', username='alice', password='pw')
out['password'] = [t['scope'], api(s)]
old = t['refresh_token']
t2 = s.refresh_token(base + '/oauth/token', refresh_token=old)
out['refresh'] = [t2['refresh_token'] != old, api(s)]
out['refresh_replay'] = error_of(lambda: OAuth2Session(cid, secret).refresh_token(base + '/oauth/token', refresh_token=old))

s = OAuth2Session(cid, secret, redirect_uri='https://app.example.com/cb', scope='read')
uri, state = s.create_authorization_url(base + '/authorize')
r = requests.get(uri, allow_redirects=False)
location = r.headers['location']
t = s.fetch_token(base + '/oauth/token', authorization_response=location, state=state)
out['code'] = [r.status_code, location.startswith('https://app.example.com/cb?'), api(s)]
replay = OAuth2Session(cid, secret, redirect_uri='https://app.example.com/cb')
out['code_replay'] = error_of(lambda: replay.fetch_token(base + '/oauth/token', authorization_response=location))
out['code_replay_revoked'] = api(s)
evil = requests.get(base + '/authorize', params={'response_type': 'code', 'client_id': cid, 'redirect_uri': 'https://evil.example/cb'}, allow_redirects=False)
out['evil_redirect'] = evil.status_code
print(json.dumps(out))
`;

describe('OAuthV2 with Authlib through devproxy', () => {
  it('serves every grant type to a third-party client, and refuses its replays', async () => {
    const out = JSON.parse(await runPython(SCRIPT, [stack.baseUrl()])) as Record<string, unknown>;
    expect(out).toEqual({
      client_secret_basic: ['Bearer', 200],
      client_secret_post: ['Bearer', 200],
      wrong_secret: 'invalid_client',
      password: ['read', 200],
      refresh: [true, 200],
      refresh_replay: 'invalid_grant',
      code: [302, true, 200],
      code_replay: 'invalid_grant',
      code_replay_revoked: 401,
      evil_redirect: 400,
    });
  });
});
