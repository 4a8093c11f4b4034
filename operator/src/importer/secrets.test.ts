// A secret written literally in a policy XML (a JWT <SecretKey><Value>) must never reach the manifests
// or the report: the policy is reported (create a Secret) and not converted (docs/import.md).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
