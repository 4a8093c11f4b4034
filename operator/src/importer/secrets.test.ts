// A secret written literally in a policy XML (a JWT <SecretKey><Value>) must never reach the manifests
// or the report: the policy is reported (create a Secret) and not converted (docs/import.md).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { importBundles } from './run.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-import-secrets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('a literal JWT secret key is reported, not copied into YAML or the report', () => {
  const input = join(import.meta.dirname, 'testdata', 'identity', 'input');
  const secret = 'Hello-this-is-a-literal-secret-do-not-copy';
  expect(readFileSync(join(input, 'apiproxy/policies/JWT-Generate-Literal.xml'), 'utf8')).toContain(secret);
  const report = importBundles({ paths: [input], output: scratch });
  const bundle = report.bundles[0]!;
  expect(bundle.policies.find((p) => p.name === 'JWT-Generate-Literal')?.converted).toBe(false);
  expect(bundle.unsupported).toContainEqual(
    expect.objectContaining({
      file: 'apiproxy/policies/JWT-Generate-Literal.xml',
      xpath: '/GenerateJWT/SecretKey/Value',
    }),
  );
  expect(JSON.stringify(report)).not.toContain(secret);
  for (const f of readdirSync(bundle.output!))
    expect(readFileSync(join(bundle.output!, f), 'utf8')).not.toContain(secret);
});

it('a literal OAuth token in GetOAuthV2Info is reported, not copied', () => {
  const input = join(import.meta.dirname, 'testdata', 'identity', 'input');
  const token = 'literal-token-do-not-copy';
  const report = importBundles({ paths: [input], output: join(scratch, 'oauth') });
  const bundle = report.bundles[0]!;
  expect(bundle.policies.find((p) => p.name === 'OAuth-Get-Literal')?.converted).toBe(false);
  expect(bundle.unsupported).toContainEqual(
    expect.objectContaining({ file: 'apiproxy/policies/OAuth-Get-Literal.xml', xpath: '/GetOAuthV2Info/AccessToken' }),
  );
  expect(JSON.stringify(report)).not.toContain(token);
  for (const f of readdirSync(bundle.output!))
    expect(readFileSync(join(bundle.output!, f), 'utf8')).not.toContain(token);
});

it('a literal value for a private.* variable in AssignMessage is reported, not copied', () => {
  const bundle = join(scratch, 'private-bundle');
  const pem = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-do-not-copy';
  const files: Record<string, string> = {
    'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <PreFlow><Request><Step><Name>AM-PrivateKey</Name></Step></Request></PreFlow>
  <HTTPProxyConnection><BasePath>/keys</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
    'apiproxy/targets/default.xml': `<TargetEndpoint name="default"><HTTPTargetConnection><URL>http://127.0.0.1:9090</URL></HTTPTargetConnection></TargetEndpoint>`,
    'apiproxy/policies/AM-PrivateKey.xml': `<AssignMessage name="AM-PrivateKey">
  <AssignVariable><Name>private.privatekey</Name><Value>-----BEGIN PRIVATE KEY-----
${pem}
-----END PRIVATE KEY-----</Value></AssignVariable>
  <AssignVariable><Name>flow.kept</Name><Value>visible</Value></AssignVariable>
</AssignMessage>`,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(bundle, file)), { recursive: true });
    writeFileSync(join(bundle, file), text);
  }
  const report = importBundles({ paths: [bundle], output: join(scratch, 'private-out') });
  const imported = report.bundles[0]!;
  expect(imported.unsupported).toContainEqual(
    expect.objectContaining({
      file: 'apiproxy/policies/AM-PrivateKey.xml',
      reason: expect.stringContaining('private.privatekey') as unknown,
    }),
  );
  expect(JSON.stringify(report)).not.toContain(pem);
  const yaml = readdirSync(imported.output!).map((f) => readFileSync(join(imported.output!, f), 'utf8'));
  for (const text of yaml) expect(text).not.toContain(pem);
  expect(yaml.join('\n')).toContain('flow.kept');
});
