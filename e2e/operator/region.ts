// One region of the multi-region suite, as a cluster runs it (docs/operations.md#multi-region): a
// `gatehouse operator` process against the region's own apiserver, and a data plane connected to it
// over xDS: `gatehouse extproc` started with the arguments and environment the operator rendered into
// the DataPlane's extproc Deployment (this file stands in for the kubelet, with loopback ports), and
// two devproxies as its Envoys. Every process is reaped if the test runner dies.
import { join } from 'node:path';
import { freePort } from '../env/ports.ts';
import { ServiceProcess } from '../env/processes.ts';
import { loadKubeconfigFile } from '../env/kubeconfig.ts';
import { startDevproxy, type RunningDevproxy } from '../../devproxy/src/main.ts';
import { workloadName } from '../../operator/src/api/names.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { Cluster, eventually } from './kube.ts';

const root = new URL('../..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const bin = join(root, 'bin/gatehouse.js');

interface Container {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: unknown } }[];
}

export interface RegionOptions {
  /** The kubeconfig context this region is in `gatehouse status`. */
  context: string;
  /** The namespace of the operator and of the manifests (the same name in every region). */
  namespace: string;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  /** Logs of the processes. */
  dir: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

/** Replaces the value of each flag in `args` (flags given as `--name value`); a flag not there is an error. */
function setFlags(args: readonly string[], values: Record<string, string>): string[] {
  const out = [...args];
  for (const [flag, value] of Object.entries(values)) {
    const i = out.indexOf(flag);
    if (i < 0 || i + 1 >= out.length)
      throw new Error(`the rendered extproc arguments have no ${flag}: ${args.join(' ')}`);
    out[i + 1] = value;
  }
  return out;
}

export class Region {
  readonly cluster: Cluster;
  operator?: ServiceProcess;
  extproc?: ServiceProcess;
  /** The region's Envoys (two, as a DataPlane's Envoy replicas). */
  readonly envoys: RunningDevproxy[] = [];
  /** Processes started, so that a restarted one logs to a file of its own. */
  private starts = 0;
  private extprocCommand?: { args: string[]; env: NodeJS.ProcessEnv };
  readonly ports = { xds: 0, operatorMetrics: 0, extproc: 0, extprocMetrics: 0 };

  readonly o: RegionOptions;

  constructor(o: RegionOptions) {
    this.o = o;
    this.cluster = new Cluster(loadKubeconfigFile(o.adminKubeconfig));
  }

  async allocatePorts(): Promise<void> {
    for (const k of Object.keys(this.ports) as (keyof Region['ports'])[]) this.ports[k] = await freePort();
  }

  /**
   * `gatehouse operator` as the chart's restricted identity, watching the namespace, one replica; the
   * compiled ext_proc cluster points at this region's extproc (its loopback port).
   */
  async startOperator(): Promise<void> {
    this.operator = new ServiceProcess(
      `operator-${this.o.context}-${++this.starts}`,
      node,
      [
        bin,
        'operator',
        '--kubeconfig',
        this.o.operatorKubeconfig,
        '--namespace',
        this.o.namespace,
        '--operator-namespace',
        this.o.namespace,
        '--identity',
        `operator-${this.o.context}`,
        '--leader-elect',
        'false',
        '--xds-port',
        String(this.ports.xds),
        '--metrics-port',
        String(this.ports.operatorMetrics),
        '--extproc-address',
        `127.0.0.1:${this.ports.extproc}`,
      ],
      this.o.dir,
    );
    await eventually(
      `operator of ${this.o.context} serves a snapshot (log ${this.operator.logFile})`,
      async () => {
        if (!this.operator!.running) throw new Error(`exited; see ${this.operator!.logFile}`);
        return fetch(`http://127.0.0.1:${this.ports.operatorMetrics}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
    );
  }

  /**
   * The DataPlane's data plane: extproc with the arguments and environment of the Deployment the
   * operator rendered from this region's DataPlane (its --region, --redis-*, --node-cluster, ...), the
   * xDS address, ports, node id and cache folder replaced by local ones; then two devproxies as its
   * Envoy replicas.
   */
  async startDataPlane(dataPlane: string): Promise<void> {
    const deployment = await eventually(
      `${this.o.context}: the operator renders the extproc Deployment of DataPlane ${dataPlane}`,
      () => this.cluster.get('Deployment', this.o.namespace, workloadName(dataPlane, 'extproc')),
    );
    const container = (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec
      .containers[0]!;
    const args = setFlags(container.args ?? [], {
      '--xds': `127.0.0.1:${this.ports.xds}`,
      '--node-id': `extproc-${this.o.context}`,
      '--cache-dir': join(this.o.dir, 'extproc-cache'),
      '--port': String(this.ports.extproc),
      '--metrics-port': String(this.ports.extprocMetrics),
    });
    const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' };
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef) env[e.name] = `${e.valueFrom.fieldRef.fieldPath}-of-${this.o.context}`;
      else throw new Error(`extproc env ${e.name}: only literal values are supported here`);
    }
    // What the data plane does is under test, not Redis latency on a loaded machine.
    this.extprocCommand = { args: [bin, ...args, '--redis-deadline-ms', '2000'], env };
    await this.startExtproc();
    for (let i = 0; i < 2; i++)
      this.envoys.push(
        startDevproxy({
          xds: `127.0.0.1:${this.ports.xds}`,
          nodeId: `envoy-${this.o.context}-${i}`,
          log: silentLog,
          bindAddress: () => ({ host: '127.0.0.1', port: 0 }),
        }),
      );
    await eventually(`the Envoys of ${this.o.context} are ready`, () => this.envoys.every((e) => e.proxy.ready));
  }

  private async startExtproc(): Promise<void> {
    const { args, env } = this.extprocCommand!;
    this.extproc = new ServiceProcess(`extproc-${this.o.context}-${++this.starts}`, node, args, this.o.dir, { env });
    await eventually(`extproc of ${this.o.context} loads a snapshot (log ${this.extproc.logFile})`, async () => {
      if (!this.extproc!.running) throw new Error(`exited; see ${this.extproc!.logFile}`);
      return fetch(`http://127.0.0.1:${this.ports.extprocMetrics}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    });
  }

  /**
   * extproc killed and started again with the same arguments, as a container restart in its pod (the
   * cache folder is the pod's emptyDir, which survives it); resolves with its /readyz text.
   */
  async restartExtproc(): Promise<string> {
    await this.extproc!.kill();
    await this.startExtproc();
    return (await fetch(`http://127.0.0.1:${this.ports.extprocMetrics}/readyz`)).text();
  }

  /** The arguments extproc runs with (for assertions on what the operator rendered). */
  get extprocArgs(): string[] {
    return this.extproc?.child.spawnargs ?? [];
  }

  /** A request through one of this region's Envoys (its first listener). */
  async request(path: string, headers: Record<string, string> = {}, envoy = 0): Promise<Reply> {
    const listener = [...(this.envoys[envoy]?.proxy.boundListeners().values() ?? [])][0];
    if (!listener) throw new Error(`${this.o.context}: Envoy ${envoy} has no listener`);
    const res = await fetch(`http://127.0.0.1:${listener.port}${path}`, {
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Stops what runs; each part on its own, so one failure does not leave the others running. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.envoys.map((e) => e.stop()), this.extproc?.stop(), this.operator?.stop()]);
  }
}
