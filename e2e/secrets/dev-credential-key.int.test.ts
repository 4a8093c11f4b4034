// Attack: the credential hash key is the fixed, public development key (the Secret was never created,
// deleted, or is out of the operator's sight). Every consumer key's hash in the snapshot can then be
// brute-forced offline by anyone holding a snapshot, with a key everybody knows. In a cluster the
// operator refuses to start without the key Secret unless told otherwise (--insecure-dev-credential-key),
// and once it has a key it never falls back to the development one.
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { devCredentialHashKey } from '../../operator/src/compile/credentials.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { CredentialKeyMissingError } from '../../operator/src/source/credential-key.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { ENV } from '../env/env.ts';
import { freePort } from '../env/ports.ts';
import { gatehouse, until, type Command } from '../dev/processes.ts';
import { Cluster, credentialKeySecret, eventually, operatorKubeConfig } from '../operator/kube.ts';

const cluster = new Cluster();
const commands: Command[] = [];
const operators: KubeOperator[] = [];

afterAll(async () => {
  await Promise.all(commands.map((c) => c.stop('SIGKILL')));
  await Promise.all(operators.map((o) => o.stop()));
});

async function operatorProcess(ns: string, extra: string[] = []) {
  const [xdsPort, metricsPort] = [await freePort(), await freePort()];
  const command = gatehouse([
    'operator',
    '--kubeconfig',
    process.env[ENV.operatorKubeconfig]!,
    '--namespace',
    ns,
    '--operator-namespace',
    ns,
    '--xds-port',
    String(xdsPort),
    '--metrics-port',
    String(metricsPort),
    '--leader-elect',
    'false',
    '--manage-dataplanes',
    'false',
    ...extra,
  ]);
  commands.push(command);
  return { command, readyz: () => fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.ok) };
}

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

function start(namespace: string, watchNamespace = namespace): Promise<KubeOperator> {
  return startKubeOperator({
    kc: operatorKubeConfig(),
    log: silentLog,
    namespace,
    watchNamespace,
    host: '127.0.0.1',
    xdsPort: 0,
    debounceMs: 20,
    leaderElection: { enabled: false },
  }).then((o) => {
    operators.push(o);
    return o;
  });
}

describe('the operator in a cluster without a credential hash key', () => {
  it('refuses to start, naming the Secret it looked for and the flag, and serves nothing', async () => {
    const ns = await cluster.namespace('nokey');
    const { command, readyz } = await operatorProcess(ns);
    const [code] = (await once(command.child, 'exit')) as [number | null];
    expect(code, command.output()).toBe(2);
    expect(command.output()).toContain(
      `no credential hash key: Secret ${ns}/gatehouse-credential-hash-key with a "key" entry and the label gatehouse.dev/credential=true was not found`,
    );
    expect(command.output()).toContain('--insecure-dev-credential-key true');
    expect(command.output()).toContain('[GH_ERR_CREDENTIAL_KEY_MISSING]');
    await expect(readyz()).rejects.toThrow();
  });

  it('refuses naming the Secret in its own namespace when it watches another one', async () => {
    const ops = await cluster.namespace('nokey-ops');
    const watched = await cluster.namespace('watched');
    // A key in the watched namespace is not the operator's: it is read from the operator's namespace only.
    await cluster.apply(credentialKeySecret(watched));
    const refused = start(ops, watched);
    await expect(refused).rejects.toBeInstanceOf(CredentialKeyMissingError);
    await expect(refused).rejects.toThrow(`Secret ${ops}/gatehouse-credential-hash-key`);
  });

  it('runs with the development key only when told to, and says so', async () => {
    const ns = await cluster.namespace('devkey');
    const { command, readyz } = await operatorProcess(ns, ['--insecure-dev-credential-key', 'true']);
    await until(command, '/readyz', readyz);
    expect(command.output()).toContain('hashing consumer keys with the fixed, public development key');
  });
});

describe('the operator with a credential hash key', () => {
  it('reads it from its own namespace when it watches another one', async () => {
    const ops = await cluster.namespace('keyhere');
    const watched = await cluster.namespace('watched');
    const key = `key-${ops}`;
    await cluster.apply(credentialKeySecret(ops, key));
    const operator = await start(ops, watched);
    expect(operator.snapshots.current()?.snapshot.runtime?.credentialHashKey).toBe(hex(key));
  });

  it('hashes with it, and keeps it when the Secret goes away, never falling back to the development key', async () => {
    const ns = await cluster.namespace('withkey');
    const key = `key-${ns}`;
    await cluster.apply(credentialKeySecret(ns, key));
    const operator = await start(ns);
    const runtimeKey = () => operator.snapshots.current()?.snapshot.runtime?.credentialHashKey;
    expect(runtimeKey()).toBe(hex(key));

    await cluster.remove('Secret', ns, 'gatehouse-credential-hash-key');
    // A change after the deletion: the snapshot is rebuilt without the Secret in the cache.
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name: 'after', namespace: ns },
      spec: { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-after': '1' } } } },
    });
    await eventually('a rebuild with the ApiPolicy applied after the deletion', () =>
      operator.snapshots.current()?.outcomes.has(`ApiPolicy/${ns}/after`),
    );
    expect(operator.source.get('Secret', ns, 'gatehouse-credential-hash-key')).toBeUndefined();
    expect(runtimeKey()).toBe(hex(key));
    expect(runtimeKey()).not.toBe(hex(devCredentialHashKey));
  });
});
