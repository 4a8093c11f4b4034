// What the importer accepts and refuses: every form of bundle, and hostile or broken ones (not a
// bundle, broken XML, a DOCTYPE, zip bombs, zip slip, symbolic links out of the bundle). A bundle that
// fails is reported with an error naming the file, nothing is written for it, and the others still
// convert. Also --strict, --report's shape, and the command line end to end.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../../lib/errors.ts';
import { importCommand } from '../command.ts';
import { compile } from '../compile/compile.ts';
import { parseManifests } from '../source/folder.ts';
import { exitCodeOf, importBundles, summaryTable } from './run.ts';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-import-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(root, `${name}-${(n += 1)}`);

/** A small bundle that converts with an empty report: VerifyAPIKey on /clean. */
const clean: Record<string, string> = {
  'apiproxy/clean.xml': '<APIProxy name="clean"/>',
  'apiproxy/policies/Verify.xml': '<VerifyAPIKey name="Verify"><APIKey ref="request.header.x-api-key"/></VerifyAPIKey>',
  'apiproxy/proxies/default.xml':
    '<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>Verify</Name></Step></Request></PreFlow>' +
    '<HTTPProxyConnection><BasePath>/clean</BasePath></HTTPProxyConnection>' +
    '<RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>',
  'apiproxy/targets/default.xml':
    '<TargetEndpoint name="default"><HTTPTargetConnection><URL>http://127.0.0.1:9090</URL></HTTPTargetConnection></TargetEndpoint>',
};

function writeTree(dir: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function writeZip(path: string, files: Record<string, string | Uint8Array>): string {
  const entries = Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]),
  );
  writeFileSync(path, zipSync(entries));
  return path;
}

const compileText = (text: string) =>
  compile(parseManifests(text, 'import.yaml').objects, { credentialHashKey: 'import-test-key' });

const importTo = (paths: string[], limits?: { maxEntries: number; maxBytes: number }) => {
  const output = fresh('out');
  return { output, report: importBundles({ paths, output, ...(limits ? { limits } : {}) }) };
};

describe('bundle forms', () => {
  it('takes the folder holding apiproxy/, the apiproxy/ folder itself, a .zip and a folder of them, with the same result', () => {
    const folder = writeTree(fresh('clean'), clean);
    const zip = writeZip(`${fresh('clean')}.zip`, clean);
    const nested = fresh('nested');
    writeTree(join(nested, 'inner'), Object.fromEntries(Object.entries(clean).map(([k, v]) => [`top/${k}`, v])));
    const prefixed = writeZip(
      `${fresh('prefixed')}.zip`,
      Object.fromEntries(Object.entries(clean).map(([k, v]) => [`clean-bundle/${k}`, v])),
    );
    for (const path of [folder, join(folder, 'apiproxy'), zip, nested, prefixed]) {
      const { report } = importTo([path]);
      expect(report.bundles, path).toHaveLength(1);
      const [b] = report.bundles;
      expect(b!.error, path).toBeUndefined();
      expect(b!.unsupported, path).toEqual([]);
      expect(readdirSync(b!.output!).sort(), path).toEqual(['apipolicy-verify.yaml', 'apiproxy-clean.yaml']);
    }
  });

  it('converts a shared-flow bundle into a SharedFlow that a FlowCallout of a proxy bundle calls', () => {
    const sf = writeTree(fresh('sf'), {
      'sharedflowbundle/Common_Checks.xml': '<SharedFlowBundle name="Common_Checks"/>',
      'sharedflowbundle/policies/SA.xml': '<SpikeArrest name="SA"><Rate>10ps</Rate></SpikeArrest>',
      'sharedflowbundle/policies/JS.xml': '<Javascript name="JS"><ResourceURL>jsc://a.js</ResourceURL></Javascript>',
      'sharedflowbundle/sharedflows/default.xml':
        '<SharedFlow name="default"><Step><Name>SA</Name><Condition>request.verb = "POST"</Condition></Step><Step><Name>JS</Name></Step></SharedFlow>',
      'sharedflowbundle/sharedflows/other.xml': '<SharedFlow name="other"/>',
    });
    const proxy = writeTree(fresh('proxy'), {
      'apiproxy/caller.xml': '<APIProxy name="caller"/>',
      'apiproxy/policies/FC.xml':
        '<FlowCallout name="FC"><SharedFlowBundle>Common_Checks</SharedFlowBundle><Parameters><Parameter name="who">me</Parameter><Parameter name="verb" ref="request.verb"/><Parameter name="request.header.x">no</Parameter></Parameters></FlowCallout>',
      'apiproxy/proxies/default.xml':
        '<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>FC</Name></Step></Request></PreFlow><HTTPProxyConnection><BasePath>/caller</BasePath></HTTPProxyConnection><RouteRule name="r"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>',
      'apiproxy/targets/default.xml':
        '<TargetEndpoint name="default"><HTTPTargetConnection><URL>http://backend.test</URL></HTTPTargetConnection></TargetEndpoint>',
    });
    const { report } = importTo([sf, proxy]);
    const [flow, caller] = report.bundles;
    expect(flow!.kind).toBe('sharedflowbundle');
    expect(readdirSync(flow!.output!).sort()).toEqual(['apipolicy-sa.yaml', 'sharedflow-common-checks.yaml']);
    const written = readFileSync(join(flow!.output!, 'sharedflow-common-checks.yaml'), 'utf8');
    expect(written).toContain('kind: SharedFlow');
    expect(written).toContain('policy: sa');
    expect(written).toContain('request.verb = "POST"');
    const reasons = flow!.unsupported.map((u) => `${u.file} ${u.reason}`).join('\n');
    expect(reasons).toMatch(/sharedflows\/other\.xml only sharedflows\/default\.xml runs/);
    expect(reasons).toMatch(/step skipped: policy JS \(Javascript\) was not converted/);

    expect(caller!.error).toBeUndefined();
    const fc = readFileSync(join(caller!.output!, 'apipolicy-fc.yaml'), 'utf8');
    expect(fc).toContain('sharedFlowBundle: common-checks');
    expect(fc).toMatch(/name: who\s+value: me/);
    expect(fc).toMatch(/name: verb\s+ref: request.verb/);
    expect(fc).not.toContain('request.header.x');
    expect(caller!.unsupported.map((u) => u.reason).join('\n')).toMatch(/"request.header.x" is a message variable/);
    expect(readdirSync(caller!.output!)).toContain('apiproxy-caller.yaml');

    // Both folders compile as one namespace: the FlowCallout finds the SharedFlow.
    const text = [flow!.output!, caller!.output!]
      .flatMap((dir) => readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')))
      .join('---\n');
    expect(compileText(text).errors).toEqual([]);
  });
});

describe('bad input', () => {
  it('a path that holds no bundle is an error naming the path', () => {
    const empty = fresh('empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'README.md'), 'nothing here');
    const { report } = importTo([empty, join(root, 'does-not-exist')]);
    expect(report.bundles.map((b) => [b.source, b.error?.code])).toEqual([
      [empty, 'GH_ERR_IMPORT_NOT_A_BUNDLE'],
      [join(root, 'does-not-exist'), 'GH_ERR_IMPORT_NOT_A_BUNDLE'],
    ]);
    expect(exitCodeOf(report, false)).toBe(1);
  });

  it('broken XML stops that bundle with the file and line; nothing is written for it; the others convert', () => {
    const parent = fresh('two');
    writeTree(join(parent, 'a-good'), clean);
    writeTree(join(parent, 'b-broken'), {
      ...clean,
      'apiproxy/policies/Broken.xml': '<Quota name="Broken">\n  <Allow count="1">\n</Quota>',
    });
    const { report, output } = importTo([parent]);
    const [good, broken] = report.bundles;
    expect(good!.error).toBeUndefined();
    expect(existsSync(join(output, 'a-good', 'apiproxy-clean.yaml'))).toBe(true);
    expect(broken!.error).toMatchObject({ code: 'GH_ERR_IMPORT_XML', file: 'apiproxy/policies/Broken.xml:3:1' });
    expect(broken!.error!.message).toMatch(/^apiproxy\/policies\/Broken.xml:3:1: XML does not parse: /);
    expect(existsSync(join(output, 'b-broken'))).toBe(false);
    expect(summaryTable(report)).toMatch(/failed: .*b-broken: apiproxy\/policies\/Broken.xml:3:1/);
  });

  it('refuses a DOCTYPE (no entity is ever defined, so none can expand)', () => {
    const dir = writeTree(fresh('doctype'), {
      ...clean,
      'apiproxy/policies/Verify.xml':
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n' +
        '<VerifyAPIKey name="Verify"><APIKey ref="&b;"/></VerifyAPIKey>',
    });
    const { report } = importTo([dir]);
    expect(report.bundles[0]!.error).toMatchObject({ code: 'GH_ERR_IMPORT_XML', file: 'apiproxy/policies/Verify.xml' });
    expect(report.bundles[0]!.error!.message).toMatch(/DOCTYPE is not accepted/);
  });

  it('refuses a zip bomb before inflating it: uncompressed bytes over the limit, or too many entries', () => {
    const bomb = writeZip(`${fresh('bomb')}.zip`, {
      ...clean,
      'apiproxy/resources/jsc/zeros.js': new Uint8Array(4 << 20),
    });
    expect(readFileSync(bomb).length).toBeLessThan(64 << 10);
    const { report, output } = importTo([bomb], { maxEntries: 100, maxBytes: 1 << 20 });
    expect(report.bundles[0]!.error).toMatchObject({ code: 'GH_ERR_IMPORT_ZIP', file: bomb });
    expect(report.bundles[0]!.error!.message).toMatch(/more than 1048576 bytes uncompressed/);
    expect(existsSync(output)).toBe(false);

    const many = writeZip(
      `${fresh('many')}.zip`,
      Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`apiproxy/resources/x/${i}.txt`, 'x'])),
    );
    expect(importTo([many], { maxEntries: 20, maxBytes: 1 << 20 }).report.bundles[0]!.error!.message).toMatch(
      /more than 20 entries/,
    );
  });

  it('refuses zip entries whose path leaves the bundle (../, absolute, backslash) and writes nothing anywhere', () => {
    for (const evil of ['apiproxy/../../evil.xml', '/tmp/evil.xml', 'apiproxy\\..\\evil.xml', 'C:/evil.xml']) {
      const zip = writeZip(`${fresh('slip')}.zip`, { ...clean, [evil]: '<x/>' });
      const { report, output } = importTo([zip]);
      expect(report.bundles[0]!.error, evil).toMatchObject({ code: 'GH_ERR_IMPORT_UNSAFE_PATH' });
      expect(report.bundles[0]!.error!.message, evil).toContain(evil);
      expect(existsSync(output), evil).toBe(false);
    }
    expect(existsSync(join(root, 'evil.xml'))).toBe(false);
  });

  it('refuses a symbolic link that points outside the bundle, and follows one inside it', () => {
    const secret = join(fresh('outside'), 'secret.xml');
    writeTree(dirname(secret), { 'secret.xml': '<VerifyAPIKey name="Secret"><APIKey ref="x"/></VerifyAPIKey>' });
    const escaping = writeTree(fresh('symlink'), clean);
    symlinkSync(secret, join(escaping, 'apiproxy/policies/Secret.xml'));
    const { report } = importTo([escaping]);
    expect(report.bundles[0]!.error).toMatchObject({
      code: 'GH_ERR_IMPORT_UNSAFE_PATH',
      file: 'apiproxy/policies/Secret.xml',
    });

    const inside = writeTree(fresh('symlink-inside'), {
      ...clean,
      'apiproxy/shared/Verify.xml': clean['apiproxy/policies/Verify.xml']!,
    });
    rmSync(join(inside, 'apiproxy/policies/Verify.xml'));
    symlinkSync(join(inside, 'apiproxy/shared/Verify.xml'), join(inside, 'apiproxy/policies/Verify.xml'));
    expect(importTo([inside]).report.bundles[0]!.error).toBeUndefined();
  });
});

describe('gatehouse import apigee', () => {
  const run = async (args: string[]) => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const options = importCommand.parse(['apigee', ...args]);
      if (options === 'help') throw new Error('help');
      const code = await importCommand.run(options);
      return {
        code,
        stdout: out.mock.calls.map((c) => String(c[0])).join(''),
        stderr: err.mock.calls.map((c) => String(c[0])).join(''),
      };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  };

  it('--strict exits 1 when the report lists anything, 0 when it is empty; --report writes the documented shape', async () => {
    const cleanDir = writeTree(fresh('clean'), clean);
    const noisy = writeTree(fresh('noisy'), {
      ...clean,
      'apiproxy/policies/JS.xml': '<Javascript name="JS"><ResourceURL>jsc://a.js</ResourceURL></Javascript>',
    });
    const out = fresh('cli-out');
    const reportFile = `${fresh('report')}.json`;
    expect((await run([cleanDir, '-o', out, '--strict'])).code).toBe(0);
    const noisyRun = await run([noisy, '-o', out, '--strict', '--report', reportFile, '--namespace', 'shop']);
    expect(noisyRun.code).toBe(1);
    expect(noisyRun.stdout).toMatch(/^bundles: 1 \(1 converted, 0 failed, 0 with an empty report\)/);
    expect(noisyRun.stdout).toMatch(/Javascript\s+0\s+1/);
    expect(noisyRun.stdout).toMatch(/VerifyAPIKey\s+1\s+0/);

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { bundles: Record<string, unknown>[] };
    expect(report.bundles).toHaveLength(1);
    expect(report.bundles[0]).toMatchObject({
      source: noisy,
      output: expect.stringContaining(out) as unknown,
      unsupported: [
        {
          file: 'apiproxy/policies/JS.xml',
          xpath: '/Javascript/ResourceURL',
          reason: expect.stringMatching(/apiproxy\/resources\/jsc\/a\.js is not in the bundle/) as unknown,
        },
      ],
    });
    const written = readFileSync(join(report.bundles[0]!['output'] as string, 'apiproxy-clean.yaml'), 'utf8');
    expect(written).toMatch(/namespace: shop/);
    // Without --strict the same report is not a failure.
    expect((await run([noisy, '-o', out])).code).toBe(0);
  });

  it('refuses a command line without the format, paths or -o (usage, exit 2)', () => {
    const usage = (argv: string[]) => () => importCommand.parse(argv);
    expect(usage(['apigee', '-o', 'out'])).toThrow(/name at least one bundle/);
    expect(usage(['mulesoft', 'x', '-o', 'y'])).toThrow(/the source format comes first and is apigee/);
    expect(usage(['apigee', 'x'])).toThrow(/-o DIR is required/);
    expect(usage(['apigee', 'x', '-o', 'y', '--virtual-host', 'nohost'])).toThrow(UsageError);
  });
});
