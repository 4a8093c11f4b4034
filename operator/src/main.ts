// Entry point of `gatehouse operator`. Folder mode (--manifests DIR): the folder source feeds the
// snapshot pipeline (pipeline/pipeline.ts, the kube mode's too), which compiles, serves the snapshot
// over ADS and pushes every change; bad objects are reported, an object that served keeps serving its
// last accepted revision, a new bad one is left out, the rest ships. Without --manifests, the kube
// mode (kube-operator.ts).
import type { Options, OptionValue } from '../../bin/cli.ts';
import { parsePort } from '../../bin/cli.ts';
import { UsageError } from '../../lib/errors.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { serverTlsFromFlags, startServerTls, type ServerTls } from '../../lib/tls/flags.ts';
import type { CompileOptions } from './compile/compile.ts';
import { durationMs } from './compile/durations.ts';
import { SnapshotPipeline } from './pipeline/pipeline.ts';
import { FolderSource } from './source/watch-folder.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { startKubeOperator } from './kube-operator.ts';
import { XdsControlPlane } from './xds/control-plane.ts';

export interface FolderOperatorOptions {
  manifests: string;
  xdsPort: number;
  metricsPort?: number;
  host?: string;
  log: Logger;
  /** Where Envoy reaches extproc (compile's extProc option). */
  extProc?: CompileOptions['extProc'];
  /** Endpoints of the Services targets name (compile's serviceEndpoints); a folder has no EndpointSlices. */
  serviceEndpoints?: CompileOptions['serviceEndpoints'];
  /** Quiet time after a file event before the folder is read (default 100 ms). */
  debounceMs?: number;
  /** How often the folder's stats are polled for changes fs.watch missed (default 2 s). */
  pollMs?: number;
  processMetrics?: boolean;
  /** Serve xDS over TLS (mutual with a client CA). */
  tls?: ServerTls;
}

export interface FolderOperator {
  controlPlane: XdsControlPlane;
  source: FolderSource;
  pipeline: SnapshotPipeline;
  xdsPort: number;
  metricsPort?: number;
  /** Reads the folder and recompiles now (the watcher does this on every change). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFolderOperator(options: FolderOperatorOptions): Promise<FolderOperator> {
  const { log } = options;
  const controlPlane = new XdsControlPlane({
    log,
    processMetrics: options.processMetrics,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const source = new FolderSource({
    path: options.manifests,
    debounceMs: options.debounceMs,
    pollMs: options.pollMs,
    serviceEndpoints: options.serviceEndpoints,
  });
  await source.start();
  const pipeline = new SnapshotPipeline({
    source,
    controlPlane,
    log,
    compileOptions: () => ({ extProc: options.extProc }),
    // The source already waited for its files to settle.
    debounceMs: 0,
  });
  pipeline.start();
  let ports;
  try {
    ports = await controlPlane.listen({
      host: options.host,
      xdsPort: options.xdsPort,
      metricsPort: options.metricsPort,
    });
  } catch (err) {
    pipeline.stop();
    await source.stop();
    throw err;
  }
  return {
    controlPlane,
    source,
    pipeline,
    ...ports,
    reload: async () => {
      await source.reload();
      pipeline.rebuild();
    },
    stop: async () => {
      pipeline.stop();
      await source.stop();
      await controlPlane.stop();
    },
  };
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^\s:]+):(\d+)$/.exec(value);
  if (!match) throw new UsageError(`gatehouse operator: --${flag}: "${value}" is not HOST:PORT`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: parsePort('operator', flag, match[2]!) };
}

function parseDurationFlag(flag: string, value: OptionValue, fallback: string): number {
  const text = String(value ?? fallback);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text))
    throw new UsageError(`gatehouse operator: --${flag}: "${text}" is not a duration like 15s or 500ms`);
  return durationMs(text);
}

function parseBool(flag: string, value: OptionValue): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`gatehouse operator: --${flag}: "${String(value)}" is not true or false`);
}

export async function runOperator(options: Options): Promise<number> {
  const xdsPort = parsePort('operator', 'xds-port', String(options['xds-port'] ?? '18000'));
  const metricsPort = parsePort('operator', 'metrics-port', String(options['metrics-port'] ?? '8081'));
  const log = createLogger('operator');
  const lifecycle = new Lifecycle(log);
  const tlsConfig = serverTlsFromFlags('operator', options);
  const tls = tlsConfig ? startServerTls(tlsConfig, log, 'xDS server') : undefined;
  if (tls) lifecycle.onStop('xDS TLS files watcher', () => tls.watcher.close());
  if (options.manifests !== undefined) {
    if (typeof options.manifests !== 'string' || options.manifests === '')
      throw new UsageError('gatehouse operator: --manifests needs a folder');
    const extProc = hostPort('extproc-address', String(options['extproc-address'] ?? '127.0.0.1:9002'));
    const operator = await startFolderOperator({
      manifests: options.manifests,
      log,
      processMetrics: true,
      extProc,
      xdsPort,
      metricsPort,
      ...(tls ? { tls } : {}),
    });
    log.info(
      { manifests: options.manifests, xdsPort: operator.xdsPort, metricsPort: operator.metricsPort },
      'operator serving (folder mode)',
    );
    lifecycle.onStop('folder operator', () => operator.stop());
  } else {
    const issued = options['xds-tls'] === 'issued';
    if (options['xds-tls'] !== undefined && !issued)
      throw new UsageError(
        `gatehouse operator: --xds-tls: "${String(options['xds-tls'])}" is not issued (or leave it out)`,
      );
    if (issued && tls)
      throw new UsageError(
        'gatehouse operator: --xds-tls issued and --tls-cert/--tls-key name two certificates; choose one',
      );
    const operatorNamespace = String(options['operator-namespace'] ?? process.env.POD_NAMESPACE ?? 'gatehouse-system');
    const leaderElect = parseBool('leader-elect', options['leader-elect']);
    const manageDataPlanes = parseBool('manage-dataplanes', options['manage-dataplanes']);
    const leaseDurationMs = parseDurationFlag('lease-duration', options['lease-duration'], '15s');
    const renewDeadlineMs = parseDurationFlag('renew-deadline', options['renew-deadline'], '10s');
    const retryPeriodMs = parseDurationFlag('retry-period', options['retry-period'], '2s');
    if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
      throw new UsageError('gatehouse operator: need --retry-period < --renew-deadline < --lease-duration');
    }
    const kc = loadKubeConfig({
      kubeconfig: options.kubeconfig === undefined ? undefined : String(options.kubeconfig),
    });
    const xds =
      options['xds-address'] === undefined
        ? { host: `gatehouse-xds.${operatorNamespace}.svc`, port: xdsPort }
        : hostPort('xds-address', String(options['xds-address']));
    const operator = await startKubeOperator({
      kc,
      log,
      processMetrics: true,
      xdsPort,
      metricsPort,
      namespace: operatorNamespace,
      watchNamespace: options.namespace === undefined ? undefined : String(options.namespace),
      identity: options.identity === undefined ? undefined : String(options.identity),
      leaderElection: {
        enabled: leaderElect,
        leaseName: String(options['lease-name'] ?? 'gatehouse-operator'),
        leaseDurationMs,
        renewDeadlineMs,
        retryPeriodMs,
      },
      extProc:
        options['extproc-address'] === undefined
          ? undefined
          : hostPort('extproc-address', String(options['extproc-address'])),
      dataPlane: manageDataPlanes
        ? { xds, envoyImage: String(options['envoy-image']), gatehouseImage: String(options['gatehouse-image']) }
        : undefined,
      ...(issued ? { xdsTls: 'issued' as const } : tls ? { xdsTls: tls } : {}),
    });
    log.info(
      { server: kc.getCurrentCluster()?.server, xdsPort: operator.xdsPort, metricsPort: operator.metricsPort },
      'operator serving (kube mode)',
    );
    lifecycle.onStop('kube operator', () => operator.stop());
  }
  await lifecycle.handleSignals();
  log.info('operator stopped');
  return 0;
}
