// spec.extproc.maxConnectionAge / maxConnectionAgeGrace (docs/operations.md#connection-age): the schema's
// rules (the compiler's twin of the apiserver's CEL), the extproc arguments they render to, and that
// those arguments are what extproc's own CLI parser accepts, with the same meaning. The apiserver side
// is connection-age.int.test.ts.
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../../lib/cli/command.ts';
import { extprocCommand } from '../../../../extproc/src/command.ts';
import { kindsByName } from '../../api/kinds.ts';
import { validateSpec } from '../../api/validate.ts';
import { connectionAgeArgs, renderDataPlane, type DataPlaneObject, type KubeObject } from './render.ts';

type DeploymentJson = KubeObject & {
  spec: { template: { metadata: unknown; spec: { containers: { name: string; args: string[] }[] } } };
};

const options = {
  envoyImage: 'envoy',
  gatehouseImage: 'gatehouse',
  xds: { host: 'gatehouse-xds', port: 18000 },
  operatorNamespace: 'gh',
};

const dataPlane = (extproc: object | undefined, namespace = 'edge'): DataPlaneObject => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name: 'eu', namespace, uid: `uid-${namespace}` },
  spec: extproc === undefined ? {} : { extproc },
});

function extprocDeployment(dp: DataPlaneObject): DeploymentJson {
  return renderDataPlane(dp, options).find(
    (o) => o.kind === 'Deployment' && o.metadata.name === 'eu-extproc',
  ) as DeploymentJson;
}
const argsOf = (dp: DataPlaneObject) => extprocDeployment(dp).spec.template.spec.containers[0]!.args;

const errorsOf = (extproc: object) =>
  validateSpec(kindsByName.get('DataPlane')!, { extproc }).errors.map((e) => `${e.field}: ${e.message}`);

describe('spec.extproc.maxConnectionAge validation', () => {
  it.each([
    [{ maxConnectionAge: '30m' }],
    [{ maxConnectionAge: '1s' }],
    [{ maxConnectionAge: '24h' }],
    [{ maxConnectionAge: '23h59m59.999s' }],
    [{ maxConnectionAge: '0s' }],
    [{ maxConnectionAge: '0s', maxConnectionAgeGrace: '0s' }],
    [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '0s' }],
    [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '24h' }],
    [{ maxConnectionAge: '1h30m', maxConnectionAgeGrace: '90s', replicas: 3 }],
  ])('accepts %j', (extproc) => {
    expect(errorsOf(extproc)).toEqual([]);
  });

  it.each([
    // Below extproc's floor: every connection would end almost at once.
    [
      { maxConnectionAge: '999ms' },
      'spec.extproc.maxConnectionAge: maxConnectionAge must be 0s (never) or between 1s and 24h',
    ],
    [
      { maxConnectionAge: '0.5s' },
      'spec.extproc.maxConnectionAge: maxConnectionAge must be 0s (never) or between 1s and 24h',
    ],
    // Huge: past Node's timer range (2^31-1 ms) a timer fires at once; 24h is the cap.
    [
      { maxConnectionAge: '24h1ms' },
      'spec.extproc.maxConnectionAge: maxConnectionAge must be 0s (never) or between 1s and 24h',
    ],
    [
      { maxConnectionAge: '600h' },
      'spec.extproc.maxConnectionAge: maxConnectionAge must be 0s (never) or between 1s and 24h',
    ],
    [
      { maxConnectionAge: '99999999999999999999999999999h' },
      'spec.extproc.maxConnectionAge: maxConnectionAge must be 0s (never) or between 1s and 24h',
    ],
    [
      { maxConnectionAge: '30m', maxConnectionAgeGrace: '25h' },
      'spec.extproc.maxConnectionAgeGrace: maxConnectionAgeGrace must be at most 24h',
    ],
    // Grace without an age: nothing would ever start it.
    [
      { maxConnectionAgeGrace: '10s' },
      'spec.extproc.maxConnectionAgeGrace: maxConnectionAgeGrace needs maxConnectionAge',
    ],
    [
      { maxConnectionAge: '0s', maxConnectionAgeGrace: '10s' },
      'spec.extproc.maxConnectionAgeGrace: maxConnectionAgeGrace needs maxConnectionAge',
    ],
  ])('refuses %j naming the field', (extproc, error) => {
    expect(errorsOf(extproc)).toEqual([error]);
  });

  it.each([
    // No sign, no spaces, no other units, no numbers: the duration pattern.
    [{ maxConnectionAge: '-30m' }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: '30' }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: 1800 }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: '1d' }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: '30m --redis-mode Cluster' }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: '1'.repeat(32) + 's' }, 'spec.extproc.maxConnectionAge'],
    [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '-1s' }, 'spec.extproc.maxConnectionAgeGrace'],
  ])('refuses %j by the schema', (extproc, field) => {
    expect(validateSpec(kindsByName.get('DataPlane')!, { extproc }).errors.map((e) => e.field)).toContain(field);
  });

  it('keeps the fields on extproc only: Envoy has no such flag', () => {
    expect(
      validateSpec(kindsByName.get('DataPlane')!, { envoy: { maxConnectionAge: '30m' } }).errors.map((e) => e.field),
    ).toEqual(['spec.envoy.maxConnectionAge']);
  });
});

describe('spec.extproc.maxConnectionAge rendered', () => {
  it('passes no flag when unset or 0s (extproc default: never)', () => {
    for (const extproc of [undefined, {}, { replicas: 2 }, { maxConnectionAge: '0s' }, { maxConnectionAge: '0h0m' }]) {
      const args = argsOf(dataPlane(extproc));
      expect(args.some((a) => a.startsWith('--max-connection-age'))).toBe(false);
    }
  });

  it('passes the age, and the grace when set and above 0s, as written', () => {
    expect(connectionAgeArgs({ extproc: { maxConnectionAge: '30m' } })).toEqual(['--max-connection-age', '30m']);
    expect(connectionAgeArgs({ extproc: { maxConnectionAge: '1h30m', maxConnectionAgeGrace: '90s' } })).toEqual([
      '--max-connection-age',
      '1h30m',
      '--max-connection-age-grace',
      '90s',
    ]);
    expect(connectionAgeArgs({ extproc: { maxConnectionAge: '30m', maxConnectionAgeGrace: '0s' } })).toEqual([
      '--max-connection-age',
      '30m',
    ]);
  });

  it('never renders a value the rules refuse (an old CRD let it in): extproc would refuse to start on it', () => {
    for (const extproc of [
      { maxConnectionAge: '500ms' },
      { maxConnectionAge: '600h' },
      { maxConnectionAge: '0s', maxConnectionAgeGrace: '10s' },
      { maxConnectionAgeGrace: '10s' },
    ])
      expect(connectionAgeArgs({ extproc })).toEqual([]);
    expect(connectionAgeArgs({ extproc: { maxConnectionAge: '30m', maxConnectionAgeGrace: '600h' } })).toEqual([
      '--max-connection-age',
      '30m',
    ]);
  });

  it("renders arguments extproc's own parser takes, to the same milliseconds", () => {
    const cases: [object, number, number][] = [
      [{}, 0, 0],
      [{ maxConnectionAge: '1s' }, 1000, 0],
      [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '5m' }, 1_800_000, 300_000],
      [{ maxConnectionAge: '1h30m', maxConnectionAgeGrace: '1.5s' }, 5_400_000, 1500],
      [{ maxConnectionAge: '24h', maxConnectionAgeGrace: '24h' }, 86_400_000, 86_400_000],
      // Fractions and repeated units: summed alike by the compiler, CEL (Go durations) and extproc.
      [{ maxConnectionAge: '0.5m' }, 30_000, 0],
      [{ maxConnectionAge: '1s1s', maxConnectionAgeGrace: '1m30s' }, 2000, 90_000],
    ];
    for (const [extproc, age, grace] of cases) {
      expect(errorsOf(extproc)).toEqual([]);
      const [command, ...args] = argsOf(dataPlane(extproc)).map((a) => a.replace('$(POD_NAME)', 'eu-extproc-x'));
      expect(command).toBe('extproc');
      expect(parseOptions(extprocCommand, args)).toMatchObject({
        maxConnectionAge: age,
        maxConnectionAgeGrace: grace,
      });
    }
  });

  it('rolls the extproc pods when the age changes (the pod template changes), and only extproc', () => {
    const template = (extproc: object | undefined) =>
      JSON.stringify(extprocDeployment(dataPlane(extproc)).spec.template);
    const envoy = (extproc: object | undefined) =>
      JSON.stringify(
        renderDataPlane(dataPlane(extproc), options).find(
          (o) => o.kind === 'Deployment' && o.metadata.name === 'eu-envoy',
        ),
      );
    expect(template({ maxConnectionAge: '30m' })).not.toBe(template(undefined));
    expect(template({ maxConnectionAge: '30m' })).not.toBe(template({ maxConnectionAge: '45m' }));
    expect(template({ maxConnectionAge: '30m' })).not.toBe(
      template({ maxConnectionAge: '30m', maxConnectionAgeGrace: '1m' }),
    );
    // 0s is unset: no roll for writing the default down.
    expect(template({ maxConnectionAge: '0s' })).toBe(template(undefined));
    expect(envoy({ maxConnectionAge: '30m' })).toBe(envoy(undefined));
  });

  it("renders one DataPlane's age into its own namespace's Deployment only", () => {
    const mine = renderDataPlane(dataPlane({ maxConnectionAge: '30m' }, 'tenant-a'), options);
    const theirs = renderDataPlane(dataPlane(undefined, 'tenant-b'), options);
    expect(mine.every((o) => o.metadata.namespace === 'tenant-a')).toBe(true);
    expect(JSON.stringify(theirs)).not.toContain('--max-connection-age');
  });
});
