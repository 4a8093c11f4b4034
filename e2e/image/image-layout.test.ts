// The image's file set (Dockerfile COPY lines, .dockerignore, production dependencies only) runs on
// its own: no source in it imports what the image leaves out (e2e/, scripts/, bench/, tests, dev
// dependencies), every `gatehouse` command's --help works from it, and `gatehouse dev` serves the
// examples from it end to end (the README's 401 without an API key) and exits 0 on SIGTERM.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../bin/cli.ts';
import { freePort } from '../env/ports.ts';
import { send } from '../dev/harness.ts';
import { devPorts, nodeScript, until } from '../dev/processes.ts';
import {
  assembleImage,
  finalStageCopies,
  ignored,
  importsOf,
  parseDockerignore,
  unresolvedImports,
  type ImageLayout,
} from './layout.ts';

const repo = join(import.meta.dirname, '../..');
let image: ImageLayout;

beforeAll(() => {
  image = assembleImage(repo, mkdtempSync(join(tmpdir(), 'gatehouse-image-')));
});
afterAll(() => {
  if (image) rmSync(image.root, { recursive: true, force: true });
});

/** `node bin/gatehouse.js ARGS` in the image directory, as the image's ENTRYPOINT runs it. */
function gatehouseInImage(args: string[]) {
  return spawnSync(process.execPath, ['bin/gatehouse.js', ...args], {
    cwd: image.root,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
    timeout: 60_000,
  });
}

describe('reading the Dockerfile and .dockerignore', () => {
  it("takes the final stage's COPY lines, relative to its WORKDIR", () => {
    const { workdir, copies } = finalStageCopies(
      'FROM a AS deps\nWORKDIR /app\nCOPY x ./\nFROM b\nWORKDIR /app\nCOPY --from=deps /app/node_modules ./node_modules\nCOPY bin \\\n  ./bin\n',
    );
    expect(workdir).toBe('/app');
    expect(copies).toEqual([
      { from: 'deps', sources: ['/app/node_modules'], dest: '/app/node_modules' },
      { sources: ['bin'], dest: '/app/bin' },
    ]);
  });

  it('matches .dockerignore patterns as the build context does: **, parents, the last rule wins', () => {
    const rules = parseDockerignore('e2e\n**/*.test.ts\n*.md\n!README.md\n');
    expect(ignored(rules, 'e2e/envoy/client.ts')).toBe(true);
    expect(ignored(rules, 'devproxy/src/a.test.ts')).toBe(true);
    expect(ignored(rules, 'a.test.ts')).toBe(true);
    expect(ignored(rules, 'devproxy/src/a.ts')).toBe(false);
    expect(ignored(rules, 'NOTES.md')).toBe(true);
    expect(ignored(rules, 'README.md')).toBe(false);
    expect(ignored(rules, 'examples/NOTES.md')).toBe(false);
  });

  it('finds static, dynamic and URL imports', () => {
    expect(
      importsOf(
        "import a from './a.ts';\nexport { b } from '../b.ts';\nconst c = await import('./c.ts');\nnew URL('./d.js', import.meta.url);\nimport type { E } from 'e';",
      ),
    ).toEqual(['./a.ts', '../b.ts', 'e', './c.ts', './d.js']);
  });
});

describe('the image', () => {
  it('holds no test, benchmark or script file, and no dev dependency', () => {
    const files = image.files.map((f) => f.slice(image.root.length + 1));
    expect(
      files.filter(
        (f) => /^(e2e|scripts|bench)\//.test(f) || /\.test\.ts$|(^|[/.])test-support\.ts$|\/testdata\//.test(f),
      ),
    ).toEqual([]);
    expect(files).toContain('devproxy/src/main.ts');
    const packages = image.packages.map((p) => p.slice('node_modules/'.length));
    expect(packages).toContain('@grpc/grpc-js');
    expect(packages.filter((p) => ['vitest', 'typescript', 'eslint', 'fast-check', 'node'].includes(p))).toEqual([]);
  });

  it('resolves every import of every source inside the image', () => {
    expect(unresolvedImports(image)).toEqual([]);
  });

  it.each(Object.keys(commands))('gatehouse %s --help', (command) => {
    const r = gatehouseInImage([command, '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Usage: gatehouse ${command}`);
  });

  it('gatehouse dev serves the examples: 401 without an API key, then exits 0 on SIGTERM', async () => {
    const { port, args } = await devPorts();
    const dev = nodeScript(join(image.root, 'bin/gatehouse.js'), ['dev', ...args], {
      cwd: image.root,
      env: { NODE_ENV: 'production' },
    });
    try {
      const url = `http://127.0.0.1:${port}/orders/v1/orders`;
      // Ready once the route is served and extproc answers: the 401 README.md shows.
      await until(
        dev,
        'gatehouse dev to answer 401 on /orders/v1/orders',
        async () => (await send(url)).status === 401,
        90_000,
      );
      const r = await send(url);
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body)).toEqual({
        fault: {
          faultstring: 'Failed to resolve API Key variable',
          detail: { errorcode: 'oauth.v2.FailedToResolveAPIKey' },
        },
      });
      const exited = new Promise<number | null>((resolve) => dev.child.once('exit', (code) => resolve(code)));
      dev.child.kill('SIGTERM');
      expect(await exited, dev.output()).toBe(0);
      expect(dev.output()).not.toContain('ERR_MODULE_NOT_FOUND');
    } finally {
      await dev.stop();
    }
  }, 150_000);

  it('gatehouse operator serves the examples over xDS and gatehouse devproxy binds their listener; both exit 0 on SIGTERM', async () => {
    const [listenerPort, xdsPort, metricsPort, adminPort] = await Promise.all(
      Array.from({ length: 4 }, () => freePort()),
    );
    // The examples' DataPlane listens on 8080, which may be taken here: a copy on a free port.
    const manifests = mkdtempSync(join(tmpdir(), 'gatehouse-image-manifests-'));
    cpSync(join(image.root, 'examples'), manifests, { recursive: true });
    const dataplane = join(manifests, 'dataplane.yaml');
    writeFileSync(dataplane, readFileSync(dataplane, 'utf8').replace('port: 8080', `port: ${listenerPort}`));
    const env = { NODE_ENV: 'production' };
    const operator = nodeScript(
      join(image.root, 'bin/gatehouse.js'),
      ['operator', '--manifests', manifests, '--xds-port', String(xdsPort), '--metrics-port', String(metricsPort)],
      { cwd: image.root, env },
    );
    const devproxy = nodeScript(
      join(image.root, 'bin/gatehouse.js'),
      ['devproxy', '--xds', `127.0.0.1:${xdsPort}`, '--admin-port', String(adminPort)],
      { cwd: image.root, env },
    );
    try {
      await until(
        devproxy,
        'devproxy /ready',
        async () => (await send(`http://127.0.0.1:${adminPort}/ready`)).status === 200,
        90_000,
      );
      // No extproc runs here, so only that the listener answers is checked.
      await until(
        devproxy,
        'the listener to answer',
        async () => (await send(`http://127.0.0.1:${listenerPort}/orders/v1/orders`)).status > 0,
        30_000,
      );
      for (const [name, cmd] of [
        ['devproxy', devproxy],
        ['operator', operator],
      ] as const) {
        const exited = new Promise<number | null>((resolve) => cmd.child.once('exit', (code) => resolve(code)));
        cmd.child.kill('SIGTERM');
        expect(await exited, `${name}:\n${cmd.output()}`).toBe(0);
      }
    } finally {
      await devproxy.stop();
      await operator.stop();
      rmSync(manifests, { recursive: true, force: true });
    }
  }, 150_000);

  it("package.json in the image is the repository's", () => {
    expect(readFileSync(join(image.root, 'package.json'), 'utf8')).toBe(
      readFileSync(join(repo, 'package.json'), 'utf8'),
    );
  });
});
