// Attack: an ApiProxy author points the gateway at the cloud metadata service (or at the node itself)
// to have Envoy fetch the node's credentials for any caller (SSRF), spelling the address every way a
// URL parser accepts; or puts credentials in the target URL. The compiler refuses them on
// spec.target.url, never repeating a password, unless every DataPlane allows link-local targets.
import { describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../operator/src/compile/compile.ts';
import { formatDiagnostic } from '../../operator/src/compile/diagnostics.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';

const proxy = (target: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: p, namespace: attack}
spec: {basePath: /p, target: ${target}}
`;

const dataPlane = (name: string, allow?: boolean) => `
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: ${name}, namespace: edge}
spec: {region: ${name}, listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]${allow === undefined ? '' : `, upstream: {allowLinkLocalTargets: ${allow}}`}}
`;

function run(yaml: string): CompileResult {
  const { objects, diagnostics } = parseManifests(yaml, 'attack.yaml');
  expect(diagnostics).toEqual([]);
  return compile(objects, { credentialHashKey: 'k' });
}

const proxyErrors = (result: CompileResult) => result.errors.filter((e) => e.kind === 'ApiProxy');
const served = (result: CompileResult) => (result.snapshot.runtime.proxies as { name: string }[]).map((p) => p.name);

// Every spelling of the metadata address WHATWG URL parsing (Node's URL, the compiler's) accepts.
const metadataSpellings = [
  'http://169.254.169.254/latest/meta-data/',
  'http://2852039166/',
  'http://0xa9fea9fe/',
  'http://0xA9.0xFE.0xA9.0xFE/',
  'http://0251.0376.0251.0376/',
  'http://0251.254.169.254/',
  'http://169.254.43518/',
  'http://169.16689662/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[0:0:0:0:0:ffff:169.254.169.254]/',
  'http://[64:ff9b::169.254.169.254]/',
  'http://[fd00:ec2::254]/',
  'http://169.254.170.2/v2/credentials',
  'http://100.100.100.200/latest/meta-data',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://Metadata.Google.Internal./',
  'http://metadata/computeMetadata/v1/',
  'http://metadata.goog/',
  'http://instance-data.ec2.internal/',
  'https://169.254.169.254:443/',
];

const otherRefused = [
  ['http://169.254.1.1:8080/', 'link-local'],
  ['http://[fe80::1]/', 'link-local'],
  ['http://[febf:ffff::1]/', 'link-local'],
  ['http://0.0.0.0:9901/', 'unspecified'],
  ['http://0/', 'unspecified'],
  ['http://0x0:80/', 'unspecified'],
  ['http://0.1.2.3/', 'unspecified'],
  ['http://[::]:9901/', 'unspecified'],
] as const;

describe('target URLs an ApiProxy may not use', () => {
  it.each(metadataSpellings)('refuses the metadata service spelled %s', (url) => {
    const result = run(proxy(`{url: "${url}"}`));
    expect(proxyErrors(result)).toEqual([
      expect.objectContaining({
        field: 'spec.target.url',
        code: 'GH_ERR_COMPILE_TARGET_REFUSED',
        reason: 'TargetRefused',
        message: expect.stringMatching(
          /is a cloud metadata address: refused unless every DataPlane sets spec\.upstream\.allowLinkLocalTargets$/,
        ) as unknown,
      }),
    ]);
    expect(served(result)).toEqual([]);
    // `metadata_options` is the ext_proc filter's own field (docs/operations.md#access-logs), not an address.
    expect(JSON.stringify(result.snapshot.envoy)).not.toMatch(
      /169\.254|a9fe|metadata(?!_options)|fd00:ec2|100\.100\.100/,
    );
  });

  it.each(otherRefused)('refuses %s (%s)', (url, what) => {
    const result = run(proxy(`{url: "${url}"}`));
    expect(proxyErrors(result)).toEqual([
      expect.objectContaining({
        field: 'spec.target.url',
        message: expect.stringContaining(`is a ${what} address`) as unknown,
      }),
    ]);
  });

  it('names the one refused URL among several targets', () => {
    const result = run(proxy('{targets: [{url: "http://10.0.0.1"}, {url: "http://0xa9fea9fe"}]}'));
    expect(proxyErrors(result).map((e) => e.field)).toEqual(['spec.target.targets[1].url']);
  });

  it.each([
    'http://admin:hunter2-target-pw@10.0.0.1/',
    'http://:hunter2-target-pw@10.0.0.1/',
    'https://user%40corp:hunter2-target-pw@api.example.com/v1',
    'http://admin@10.0.0.1/',
  ])('refuses credentials in %s without repeating them', (url) => {
    const result = run(proxy(`{url: "${url}"}`));
    expect(proxyErrors(result)).toEqual([
      expect.objectContaining({
        field: 'spec.target.url',
        code: 'GH_ERR_COMPILE_TARGET_REFUSED',
        reason: 'CredentialsInUrl',
      }),
    ]);
    const everything = JSON.stringify(result) + result.errors.map(formatDiagnostic).join('\n');
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('admin');
  });

  it('does not repeat a password from a URL that does not parse', () => {
    const result = run(proxy('{url: "http://admin:hunter2-target-pw@[bad/"}'));
    expect(proxyErrors(result).map((e) => e.field)).toEqual(['spec.target.url']);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it.each([
    'http://10.0.0.1:8080/',
    'http://192.168.1.10/',
    'http://127.0.0.1:9090/',
    'http://[2001:db8::1]/',
    'https://api.example.com/v1',
    'http://169.254.169.254.example.com/',
  ])('accepts %s', (url) => {
    const result = run(proxy(`{url: "${url}"}`));
    expect(result.errors).toEqual([]);
    expect(served(result)).toEqual(['p']);
  });

  it('accepts Service targets (EDS): the kube source supplies their endpoints', () => {
    const result = run(proxy('{service: {name: backend, port: 80}}'));
    expect(result.errors).toEqual([]);
    expect(served(result)).toEqual(['p']);
  });

  it('accepts link-local targets only when every DataPlane allows them', () => {
    const target = proxy('{url: "http://169.254.169.254/"}');
    expect(served(run(target + dataPlane('a', true) + dataPlane('b', true)))).toEqual(['p']);
    expect(served(run(target + dataPlane('a', true) + dataPlane('b', false)))).toEqual([]);
    expect(served(run(target + dataPlane('a', true) + dataPlane('b')))).toEqual([]);
    // No DataPlane: the built-in default one does not allow them.
    expect(served(run(target))).toEqual([]);
  });

  it('never allows credentials in a URL, whatever the DataPlanes say', () => {
    const result = run(proxy('{url: "http://u:hunter2-target-pw@169.254.169.254/"}') + dataPlane('a', true));
    expect(proxyErrors(result)).toEqual([expect.objectContaining({ reason: 'CredentialsInUrl' })]);
  });
});
