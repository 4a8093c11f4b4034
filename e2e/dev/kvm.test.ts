// KeyValueMapOperations end to end (docs/policies.md#keyvaluemapoperations): manifests compiled by the
// real compiler, devproxy on xDS, a real extproc (in-memory store: no Redis on the DataPlane) and the
// echo upstream, over real HTTP. Put, Get and Delete driven by requests; a declared entry under what
// runtime writes changed; an encrypted map's value reaches the upstream through a private.* variable
// but never a response, extproc's log (at trace level) or devproxy's access log, even when a Get
// assigns it to a variable without the private. prefix (SetVariableFailed).
import type { Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

const secretValue = 'kvm-e2e-partner-token-7f3a9c';
const logLines: string[] = [];
const accessLines: string[] = [];

const policy = (name: string, spec: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ${name}, namespace: test}
spec: ${spec}
`;
const answer = (name: string, status: number, content: string) =>
  policy(
    name,
    `{type: RaiseFault, raiseFault: {statusCode: ${status}, payload: {content: ${JSON.stringify(content)}}}}`,
  );
const kvm = (name: string, ops: string, map = 'settings') =>
  policy(
    name,
    `{type: KeyValueMapOperations, keyValueMapOperations: {mapIdentifier: ${map}, scope: organization, ${ops}}}`,
  );
const keyRef = '{parameters: [{ref: request.queryparam.key}]}';

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  const log = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  [stack, echo] = await Promise.all([
    startStack({ extprocLog: log, accessLog: (line) => void accessLines.push(line) }),
    startEcho(),
  ]);
  const route = (name: string, steps: string[]) =>
    proxyYaml({
      name,
      basePath: `/${name}`,
      upstreamPort: echo.port,
      flows: `flows: {preFlow: {request: [${steps.map((s) => `{policy: ${s}}`).join(', ')}]}}`,
    });
  await stack.publish(
    [
      `apiVersion: gatehouse.dev/v1alpha1
kind: KeyValueMap
metadata: {name: settings, namespace: test}
spec: {scope: organization, entries: [{key: greeting, values: [hello]}]}
`,
      `apiVersion: v1
kind: Secret
metadata: {name: partner, namespace: test, labels: {gatehouse.dev/credential: "true"}}
stringData: {token: ${secretValue}}
`,
      `apiVersion: gatehouse.dev/v1alpha1
kind: KeyValueMap
metadata: {name: vault, namespace: test}
spec:
  scope: organization
  encrypted: true
  entries: [{key: partner-token, valueFrom: {secretKeyRef: {name: partner, key: token}}}]
`,
      route('kvm-put', ['put', 'put-done']),
      kvm('put', `put: [{override: true, key: ${keyRef}, value: [{ref: request.queryparam.value}]}]`),
      answer('put-done', 201, 'stored'),
      route('kvm-get', ['get', 'get-done']),
      kvm('get', `get: [{assignTo: kvm.value, key: ${keyRef}}]`),
      answer('get-done', 200, 'value={kvm.value}'),
      route('kvm-del', ['del', 'del-done']),
      kvm('del', `delete: [{key: ${keyRef}}]`),
      answer('del-done', 200, 'deleted'),
      // The encrypted value goes upstream as a header, through a private. variable.
      route('vault', ['vault-get', 'vault-use']),
      kvm('vault-get', `get: [{assignTo: private.partner, key: {parameters: [partner-token]}}]`, 'vault'),
      policy('vault-use', `{type: AssignMessage, assignMessage: {set: {headers: {x-partner: '{private.partner}'}}}}`),
      // A Get of the encrypted map into a plain variable is refused.
      route('vault-leak', ['vault-leak']),
      kvm('vault-leak', `get: [{assignTo: leaked, key: {parameters: [partner-token]}}]`, 'vault'),
    ].join('---\n'),
  );
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('KeyValueMapOperations through devproxy', () => {
  it('puts, gets and deletes over HTTP; a declared entry reads until a delete hides it', async () => {
    const base = stack.baseUrl();
    expect((await send(`${base}/kvm-get/x?key=greeting`)).body).toBe('value=hello');
    expect((await send(`${base}/kvm-get/x?key=color`)).body).toBe('value=');

    expect((await send(`${base}/kvm-put/x?key=color&value=teal`)).status).toBe(201);
    expect((await send(`${base}/kvm-get/x?key=color`)).body).toBe('value=teal');
    // override: true replaces, the declared entry too.
    await send(`${base}/kvm-put/x?key=greeting&value=hi`);
    expect((await send(`${base}/kvm-get/x?key=greeting`)).body).toBe('value=hi');

    expect((await send(`${base}/kvm-del/x?key=color`)).body).toBe('deleted');
    expect((await send(`${base}/kvm-get/x?key=color`)).body).toBe('value=');
    expect((await send(`${base}/kvm-del/x?key=greeting`)).status).toBe(200);
    expect((await send(`${base}/kvm-get/x?key=greeting`)).body).toBe('value=');

    // A hostile key: a composite-key separator and a huge value are data, not structure.
    expect((await send(`${base}/kvm-put/x?key=a__b&value=${'v'.repeat(20_000)}`)).status).toBe(400);
    expect((await send(`${base}/kvm-get/x?key=a__b`)).body).toBe('value=');
  });

  it("an encrypted map's value reaches the upstream only, never a response or a log line", async () => {
    const base = stack.baseUrl();
    const used = await send(`${base}/vault/x`);
    expect(used.status).toBe(200);
    expect(used.echo?.headers['x-partner']).toBe(secretValue);

    const leak = await send(`${base}/vault-leak/x`);
    expect(leak.status).toBe(500);
    expect(JSON.parse(leak.body)).toMatchObject({
      fault: { detail: { errorcode: 'steps.keyvaluemapoperations.SetVariableFailed' } },
    });
    expect(leak.body).not.toContain(secretValue);
    expect(JSON.stringify(leak.headers)).not.toContain(secretValue);

    expect(logLines.length + accessLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(secretValue);
    expect(accessLines.join('\n')).not.toContain(secretValue);
  });
});
