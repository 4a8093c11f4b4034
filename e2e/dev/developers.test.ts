// End to end through `gatehouse dev` (folder mode, xDS, extproc, devproxy, echo upstream): the
// Developer kind and the VerifyAPIKey faults it and product approval bring, each as Apigee answers it,
// and AccessEntity's profile of the caller's developer, never another namespace's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './harness.ts';
import { devPorts, gatehouse, until, type Command } from './processes.ts';

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

let dev: Command;
let dir: string;
let base: string;

const app = (name: string, developer: string, products: string, extra = '') => `---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: ${name}, namespace: bank}
spec:
  ${developer}
  products: ${products}
  credentials: [{secretRef: {name: ${name}-key}${extra}}]
---
apiVersion: v1
kind: Secret
metadata: {name: ${name}-key, namespace: bank}
stringData: {consumerKey: k-${name}}
`;

const manifests = `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: accounts, namespace: bank}
spec:
  basePath: /accounts
  target: {url: "http://127.0.0.1:UPSTREAM"}
  flows:
    preFlow:
      request: [{policy: verify-key}, {policy: developer-profile}]
      response: [{policy: stamp}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: profile, namespace: bank}
spec:
  basePath: /profile
  target: {url: "http://127.0.0.1:UPSTREAM"}
  flows:
    preFlow: {request: [{policy: developer-profile}], response: [{policy: stamp}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: verify-key, namespace: bank}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.header.x-api-key}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: developer-profile, namespace: bank}
spec:
  type: AccessEntity
  accessEntity:
    entityType: developer
    entityIdentifier: {type: consumerkey, value: {ref: request.header.x-api-key}}
    outputFormat: JSON
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: bank}
spec:
  type: AssignMessage
  assignMessage:
    assignTo: response
    set:
      headers:
        x-developer: "{verifyapikey.verify-key.developer.email}"
        x-scope: "{verifyapikey.verify-key.scope}"
        x-profile: "{AccessEntity.developer-profile}"
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: retail, namespace: bank}
spec: {proxies: [accounts, profile], scopes: [accounts.read]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: partner, namespace: bank}
spec: {proxies: [accounts], approval: Manual, scopes: [accounts.write]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: Developer
metadata: {name: ada, namespace: bank}
spec: {email: ada@example.com, firstName: Ada, lastName: Lovelace, attributes: {segment: retail}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: Developer
metadata: {name: grace, namespace: bank}
spec: {email: grace@example.com, status: inactive}
${app('ada-app', 'developerRef: {name: ada}', '[{name: retail}]')}
${app('ada-partner', 'developerRef: {name: ada}', '[{name: partner}]')}
${app('grace-app', 'developerRef: {name: grace}', '[{name: retail}]')}
${app('orphan-app', 'developerRef: {name: nobody}', '[{name: retail}]')}
${app('revoked-app', 'developerRef: {name: ada}', '[{name: retail}]').replace('products:', 'status: Revoked\n  products:')}
${app('revoked-key', 'developerRef: {name: ada}', '[{name: retail}]', ', status: Revoked')}
${app('expired-key', 'developerRef: {name: ada}', '[{name: retail}]', ', expiresAt: "2020-01-01T00:00:00Z"')}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: elsewhere, namespace: other}
spec: {basePath: /elsewhere, target: {url: "http://127.0.0.1:UPSTREAM"}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: theirs, namespace: other}
spec: {proxies: [elsewhere]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: Developer
metadata: {name: eve, namespace: other}
spec: {email: eve@example.com}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: eve-app, namespace: other}
spec:
  developerRef: {name: eve}
  products: [{name: theirs}]
  credentials: [{secretRef: {name: eve-key}}]
---
apiVersion: v1
kind: Secret
metadata: {name: eve-key, namespace: other}
stringData: {consumerKey: k-eve}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 5s
`;

beforeAll(async () => {
  const { port, upstreamPort, args } = await devPorts();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-developers-'));
  writeFileSync(join(dir, 'all.yaml'), manifests.replaceAll('UPSTREAM', String(upstreamPort)));
  dev = gatehouse(['dev', '-f', dir, ...args]);
  base = `http://127.0.0.1:${port}`;
  await until(
    dev,
    'devproxy to route to extproc',
    async () => (await send(`${base}/accounts/x`)).status === 401,
    60_000,
  );
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('VerifyAPIKey with Developers and product approval', () => {
  it("an active Developer's key passes, with the developer's variables, the key's scopes and its AccessEntity profile", async () => {
    const ok = await send(`${base}/accounts/1`, { headers: { 'x-api-key': 'k-ada-app' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-developer']).toBe('ada@example.com');
    expect(ok.headers['x-scope']).toBe('accounts.read');
    const profile = JSON.parse(ok.headers['x-profile'] as string) as Record<string, unknown>;
    expect(profile).toMatchObject({
      email: 'ada@example.com',
      developerId: 'ada',
      firstName: 'Ada',
      lastName: 'Lovelace',
      status: 'active',
      attributes: [{ name: 'segment', value: 'retail' }],
    });
    expect(profile.apps).toEqual(expect.arrayContaining(['ada-app', 'ada-partner']));
    expect(ok.headers['x-profile']).not.toContain('k-ada');
  });

  it.each([
    [
      'a Manual-approval product subscribed without a status (Pending)',
      'k-ada-partner',
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
    ['an inactive developer', 'k-grace-app', 'keymanagement.service.DeveloperStatusNotActive'],
    ['a Developer that does not exist', 'k-orphan-app', 'keymanagement.service.DeveloperStatusNotActive'],
    ['a revoked app', 'k-revoked-app', 'keymanagement.service.invalid_client-app_not_approved'],
    ['a revoked key', 'k-revoked-key', 'oauth.v2.ApiKeyNotApproved'],
    ['an expired key', 'k-expired-key', 'keymanagement.service.consumer_key_expired'],
    ["another namespace's key", 'k-eve', 'oauth.v2.InvalidApiKeyForGivenResource'],
  ])('%s: 401 %s', async (_name, key, code) => {
    const r = await send(`${base}/accounts/1`, { headers: { 'x-api-key': key } });
    expect(r.status).toBe(401);
    expect(errorCode(r.body)).toBe(code);
    expect(r.body).not.toContain(key);
  });

  it("AccessEntity never shows another namespace's developer, whatever key the client sends", async () => {
    const mine = await send(`${base}/profile/1`, { headers: { 'x-api-key': 'k-grace-app' } });
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.headers['x-profile'] as string)).toMatchObject({
      email: 'grace@example.com',
      status: 'inactive',
    });
    const theirs = await send(`${base}/profile/1`, { headers: { 'x-api-key': 'k-eve' } });
    expect(theirs.status).toBe(200);
    expect(theirs.headers['x-profile'] ?? '').toBe('');
  });
});
