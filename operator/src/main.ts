// Entry point of `gatehouse operator`. Folder mode (--manifests DIR): the folder source feeds the
// snapshot pipeline (pipeline/pipeline.ts, the kube mode's too), which compiles, serves the snapshot
// over ADS and pushes every change; bad objects are reported, an object that served keeps serving its
// last accepted revision, a new bad one is left out, the rest ships. Without --manifests, the kube
// mode (kube-operator.ts).
import { isIP } from 'node:net';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { registerTracingMetrics, startTracing, type Tracing } from '../../lib/tracing.ts';
import { useOperatorTracing } from './tracing.ts';
import { startServerTls, type ServerTls } from '../../lib/tls/flags.ts';
import { xdsServiceHost } from './api/names.ts';
import type { OperatorOptions } from './command.ts';
import type { CompileOptions } from './compile/compile.ts';
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
  /** Endpoints of the Services targets name (compile's serviceEndpoints); `gatehouse dev` gives its demo upstream's. */
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
    metrics: controlPlane.metrics,
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

export async function runOperator(o: OperatorOptions): Promise<number> {
  const log = createLogger('operator');
  const lifecycle = new Lifecycle(log);
  // Spans only with an endpoint: the SDK is loaded then (docs/operations.md#tracing).
  let tracing: Tracing | undefined;
  if (o.otlpEndpoint !== undefined) {
    tracing = await startTracing({
      endpoint: o.otlpEndpoint,
      serviceName: 'gatehouse-operator',
      rootSamplingPercent: 100,
    });
    useOperatorTracing(tracing);
    const t = tracing;
    lifecycle.onStop('tracing', () => t.shutdown());
  }
  const tls = o.tls ? startServerTls(o.tls, log, 'xDS server') : undefined;
  if (tls) lifecycle.onStop('xDS TLS files watcher', () => tls.watcher.close());
  if (o.manifests !== undefined) {
    const operator = await startFolderOperator({
      manifests: o.manifests,
      log,
      processMetrics: true,
      extProc: o.extprocAddress,
      xdsPort: o.xdsPort,
      metricsPort: o.metricsPort,
      ...(tls ? { tls } : {}),
    });
    if (tracing) registerTracingMetrics(operator.controlPlane.metrics.registry, 'gatehouse_operator', tracing.counters);
    log.info(
      { manifests: o.manifests, xdsPort: operator.xdsPort, metricsPort: operator.metricsPort },
      'operator serving (folder mode)',
    );
    lifecycle.onStop('folder operator', () => operator.stop());
  } else {
    const kc = loadKubeConfig({ kubeconfig: o.kubeconfig });
    const operator = await startKubeOperator({
      kc,
      log,
      processMetrics: true,
      xdsPort: o.xdsPort,
      metricsPort: o.metricsPort,
      namespace: o.operatorNamespace,
      watchNamespace: o.namespace,
      identity: o.identity,
      leaderElection: {
        enabled: o.leaderElect,
        leaseName: o.leaseName,
        leaseDurationMs: o.leaseDuration,
        renewDeadlineMs: o.renewDeadline,
        retryPeriodMs: o.retryPeriod,
      },
      extProc: o.extprocAddress,
      dataPlane: o.manageDataplanes
        ? {
            xds: o.xdsAddress ?? { host: xdsServiceHost(o.operatorNamespace), port: o.xdsPort },
            envoyImage: o.envoyImage,
            gatehouseImage: o.gatehouseImage,
          }
        : undefined,
      ...(o.xdsTls === 'issued' ? { xdsTls: 'issued' as const } : tls ? { xdsTls: tls } : {}),
      insecureDevCredentialKey: o.insecureDevCredentialKey,
      ...(o.webhookPort !== undefined
        ? {
            webhook: {
              port: o.webhookPort,
              serviceName: o.webhookService,
              configurationName: o.webhookConfiguration,
              dns: (o.webhookSan ?? []).filter((san) => isIP(san) === 0),
              ips: (o.webhookSan ?? []).filter((san) => isIP(san) !== 0),
            },
          }
        : {}),
    });
    if (tracing) registerTracingMetrics(operator.controlPlane.metrics.registry, 'gatehouse_operator', tracing.counters);
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
