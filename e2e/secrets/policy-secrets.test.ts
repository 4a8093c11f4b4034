// Attack surface: secrets written into policy configuration. A password inline in an ApiPolicy would
// be in the snapshot, in every NACK or log line that quotes a config, and readable by anyone who can
// read ApiPolicies. So secret-bearing options take {secretRef: {name, key}} (a Secret of the namespace,
// labelled gatehouse.dev/credential in a cluster): the compiler puts the value apart from the config
// (RuntimeSnapshot.policySecrets), and inline literals are refused, naming the field, never the value.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../operator/src/compile/compile.ts';
import { formatDiagnostic } from '../../operator/src/compile/diagnostics.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';
import { SnapshotInvalidError } from '../../extproc/src/config/decode.ts';
import { buildSnapshot, startTestServer, type TestServer } from '../../extproc/src/server/test-server.test-support.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../devproxy/src/ext-proc/exchange.ts';
import { header, type HttpRequest } from '../../devproxy/src/http/message.ts';

const PASSWORD = 'pw-Upstream-7c41d9e2';
const ROTATED = 'pw-Rotated-0b8f33aa';
const INLINE = 'pw-Inline-5f2e91c0';

const proxyAndPolicy = `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: billing, namespace: sec}
spec:
  basePath: /billing
  target: {url: "http://10.0.0.5"}
  flows: {preFlow: {request: [{policy: upstream-auth}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: upstream-auth, namespace: sec}
spec:
  type: BasicAuthentication
  basicAuthentication:
    operation: Encode
    user: billing-svc
    password: {secretRef: {name: billing-upstream, key: password}}
`;

const secret = (password: string) => `
---
apiVersion: v1
kind: Secret
metadata: {name: billing-upstream, namespace: sec, labels: {gatehouse.dev/credential: "true"}}
stringData: {password: "${password}"}
`;

const policy = (name: string, type: string, member: string, config: string) => `
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ${name}, namespace: sec}
spec: {type: ${type}, ${member}: ${config}}
`;

function run(yaml: string): CompileResult {
  const { objects, diagnostics } = parseManifests(yaml, 'sec.yaml');
  expect(diagnostics).toEqual([]);
  return compile(objects, { credentialHashKey: 'policy-secrets-test-key' });
}

/** Every place a text occurs in a JSON value, as paths. */
function occurrences(value: unknown, text: string, path = '$'): string[] {
  if (typeof value === 'string') return value.includes(text) ? [path] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => occurrences(v, text, `${path}.${k}`));
}

describe('a password a policy sends upstream', () => {
  let server: TestServer;
  let client: ExternalProcessorClient;

  beforeAll(async () => {
    server = await startTestServer();
    client = createExtProcClient(server.address);
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  const upstreamAuthorization = async () => {
    const seen: HttpRequest[] = [];
    const result = await runExtProcExchange({
      client,
      route: 'sec/billing',
      timeoutMs: 5_000,
      request: { method: 'GET', path: '/billing/invoices', authority: 'api.test', headers: [] },
      upstream: (req) => {
        seen.push(req);
        return { status: 200, headers: [], body: Buffer.alloc(0) };
      },
    });
    expect(result.response.status).toBe(200);
    return header(seen[0]!.headers, 'authorization');
  };

  it("stands in policySecrets only (the whole runtime and the serving DataPlane's), never in the config or the Envoy resources", () => {
    const result = run(proxyAndPolicy + secret(PASSWORD));
    expect(result.errors).toEqual([]);
    expect(occurrences(result.snapshot, PASSWORD).sort()).toEqual([
      '$.dataPlanes.0.runtime.policySecrets.sec/billing-upstream/password',
      '$.runtime.policySecrets.sec/billing-upstream/password',
    ]);
    const [billing] = result.snapshot.runtime.proxies as { policies: Record<string, { configJson: string }> }[];
    expect(JSON.parse(billing!.policies['upstream-auth']!.configJson)).toMatchObject({
      password: { secretRef: { name: 'billing-upstream', key: 'password' } },
    });
  });

  it('reaches the upstream through the real ext_proc server, and a rotated Secret applies', async () => {
    server.apply(run(proxyAndPolicy + secret(PASSWORD)).snapshot.runtime);
    expect(await upstreamAuthorization()).toBe(`Basic ${Buffer.from(`billing-svc:${PASSWORD}`).toString('base64')}`);
    server.apply(run(proxyAndPolicy + secret(ROTATED)).snapshot.runtime);
    expect(await upstreamAuthorization()).toBe(`Basic ${Buffer.from(`billing-svc:${ROTATED}`).toString('base64')}`);
  });

  it('is a reference error when the Secret or its key is missing; the proxy is left out', () => {
    const noSecret = run(proxyAndPolicy);
    expect(noSecret.errors).toContainEqual(
      expect.objectContaining({
        name: 'upstream-auth',
        field: 'spec.basicAuthentication.password.secretRef.name',
        reason: 'RefNotFound',
      }),
    );
    expect(noSecret.snapshot.runtime.proxies).toEqual([]);
    const noKey = run(proxyAndPolicy.replace('key: password', 'key: passwd') + secret(PASSWORD));
    expect(noKey.errors).toContainEqual(
      expect.objectContaining({
        field: 'spec.basicAuthentication.password.secretRef.key',
        reason: 'RefNotAccepted',
        message: 'Secret "billing-upstream" has no key "passwd"',
      }),
    );
    expect(JSON.stringify(noKey)).not.toContain(PASSWORD);
  });
});

describe('secrets written inline', () => {
  const inline = proxyAndPolicy.replace('{secretRef: {name: billing-upstream, key: password}}', `"${INLINE}"`);

  it('refuses an inline Encode password on its field, never repeating it, and writes nothing of it', () => {
    const result = run(inline);
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        kind: 'ApiPolicy',
        name: 'upstream-auth',
        field: 'spec.basicAuthentication.password',
        condition: 'Accepted',
        message: expect.stringContaining('a literal password would stand in the snapshot in clear') as unknown,
      }),
    );
    expect(JSON.stringify(result)).not.toContain(INLINE);
  });

  it('gatehouse compile exits 1 naming the field, and neither prints nor writes the password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-secrets-'));
    try {
      writeFileSync(join(dir, 'sec.yaml'), inline);
      const out = join(dir, 'snapshot.json');
      const root = new URL('../..', import.meta.url).pathname;
      const cli = spawnSync(process.execPath, [join(root, 'bin/gatehouse.js'), 'compile', '-f', dir, '-o', out], {
        encoding: 'utf8',
      });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toContain(
        'ApiPolicy/sec/upstream-auth: spec.basicAuthentication.password: a literal password',
      );
      expect(cli.stdout + cli.stderr).not.toContain(INLINE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a literal API key: a consumer key in clear', () => {
    const result = run(
      proxyAndPolicy + secret(PASSWORD) + policy('fixed-key', 'VerifyAPIKey', 'verifyAPIKey', '{apiKey: k-Fixed-91aa}'),
    );
    expect(result.errors).toEqual([expect.objectContaining({ name: 'fixed-key', field: 'spec.verifyAPIKey.apiKey' })]);
    expect(JSON.stringify(result)).not.toContain('k-Fixed-91aa');
  });

  it('refuses a Redis URL with a password in a DataPlane, never repeating it', () => {
    const result = run(`
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: sec}
spec: {redis: {url: "rediss://default:pw-Redis-3e1f@redis.sec.svc:6380"}}
`);
    expect(result.errors).toEqual([
      expect.objectContaining({ kind: 'DataPlane', field: 'spec.redis.url', code: 'GH_ERR_COMPILE_SECRET_INLINE' }),
    ]);
    expect(JSON.stringify(result)).not.toContain('pw-Redis-3e1f');
  });

  it('warns about a credential-looking header written inline, not about templates', () => {
    const result = run(
      proxyAndPolicy +
        secret(PASSWORD) +
        policy(
          'headers',
          'AssignMessage',
          'assignMessage',
          '{set: {headers: {Authorization: "Bearer tok-Inline-77", x-api-key: "{client_id}", x-other: literal}}}',
        ) +
        policy(
          'ordered',
          'AssignMessage',
          'assignMessage',
          '{operations: [{add: {headers: {cookie: "session=abc"}}}]}',
        ) +
        policy(
          'fault',
          'RaiseFault',
          'raiseFault',
          '{statusCode: 401, headers: {www-authenticate: Bearer, authorization: "Bearer {x}"}}',
        ),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      expect.stringContaining(
        'ApiPolicy/sec/headers: spec.assignMessage.set.headers.Authorization: looks like a credential',
      ),
      expect.stringContaining(
        'ApiPolicy/sec/ordered: spec.assignMessage.operations[0].add.headers.cookie: looks like a credential',
      ),
    ]);
    expect(result.warnings.map(formatDiagnostic).join('\n')).not.toContain('tok-Inline-77');
  });

  it('extproc refuses a snapshot that carries an inline password anyway (made by hand or by an old compiler)', () => {
    const snapshot = run(proxyAndPolicy + secret(PASSWORD)).snapshot.runtime as {
      proxies: { policies: Record<string, { configJson: string }> }[];
    };
    snapshot.proxies[0]!.policies['upstream-auth']!.configJson = JSON.stringify({
      operation: 'Encode',
      user: 'billing-svc',
      password: INLINE,
    });
    expect(() => buildSnapshot(snapshot)).toThrow(/basicAuthentication\.password: a literal password/);
    try {
      buildSnapshot(snapshot);
    } catch (err) {
      expect(err).not.toBeInstanceOf(SnapshotInvalidError);
      expect(String((err as Error).message)).not.toContain(INLINE);
    }
  });
});
