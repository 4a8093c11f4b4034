// Golden files: testdata/<scenario>/input.yaml (+ optional options.json) -> expected.json holding the
// snapshot, diagnostics and object statuses. UPDATE_GOLDEN=1 rewrites the expected files. Every Envoy
// resource of every scenario is also encoded with Envoy's real protos.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../source/folder.ts';
import { canonicalJson } from './canonical-json.ts';
import { compile, type CompileOptions } from './compile.ts';
import protobuf from 'protobufjs';
import { encodeEnvoyJson, encodeStrict, envoyCollectionTypes } from '../xds/envoy-codec.ts';

const testdata = join(import.meta.dirname, 'testdata');
const runtimeRoot = protobuf.loadSync(join(import.meta.dirname, '../../../protos/gatehouse/v1/runtime.proto'));
const scenarios = readdirSync(testdata)
  .filter((d) => existsSync(join(testdata, d, 'input.yaml')))
  .sort();

function run(scenario: string) {
  const dir = join(testdata, scenario);
  const { objects, diagnostics } = parseManifests(readFileSync(join(dir, 'input.yaml'), 'utf8'), 'input.yaml');
  expect(diagnostics).toEqual([]);
  const optionsFile = join(dir, 'options.json');
  const options: CompileOptions = {
    credentialHashKey: 'golden-test-key',
    ...(existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as CompileOptions) : {}),
  };
  return compile(objects, options);
}

describe('golden scenarios', () => {
  it('has at least 12 scenarios', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(12);
  });

  it.each(scenarios)('%s', (scenario) => {
    const result = run(scenario);
    const actual = `${canonicalJson(result, 2)}\n`;
    const expectedFile = join(testdata, scenario, 'expected.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
    expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
  });

  it.each(scenarios)("%s: every Envoy resource encodes with Envoy's protos", (scenario) => {
    const { envoy } = run(scenario).snapshot;
    for (const [collection, typeName] of Object.entries(envoyCollectionTypes)) {
      for (const resource of envoy[collection as keyof typeof envoyCollectionTypes]) {
        expect(encodeEnvoyJson(typeName, resource).length).toBeGreaterThan(0);
      }
    }
  });
});

describe('golden runtime snapshots', () => {
  it.each(scenarios)('%s: the runtime snapshot is strict proto3 JSON of gatehouse.v1.RuntimeSnapshot', (scenario) => {
    expect(
      encodeStrict(runtimeRoot, 'gatehouse.v1.RuntimeSnapshot', run(scenario).snapshot.runtime).length,
    ).toBeGreaterThan(0);
  });
});
