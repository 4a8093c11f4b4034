// Entry point of `gatehouse operator`. Folder mode (--manifests DIR): load and compile the folder,
// serve the snapshot over ADS, watch the folder and push every change; bad objects are reported and
// left out, the rest ships. Without --manifests, the kube mode (kube-operator.ts).
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { startServerTls, type ServerTls } from '../../lib/tls/flags.ts';
import type { OperatorOptions } from './command.ts';
import { compile, type CompileOptions } from './compile/compile.ts';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from './compile/diagnostics.ts';
import { credentialHashKeyFrom } from './source/credential-key.ts';
import type { LoadResult } from './source/folder.ts';
import { FolderWatcher } from './source/watch-folder.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { startKubeOperator } from './kube-operator.ts';
import { XdsControlPlane } from './xds/control-plane.ts';
import { sdsSecretsFor, secretLookupFromObjects } from './xds/sds.ts';

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
  debounceMs?: number;
  pollMs?: number;
  processMetrics?: boolean;
  /** Serve xDS over TLS (mutual with a client CA). */
  tls?: ServerTls;
}

export interface FolderOperator {
  controlPlane: XdsControlPlane;
  xdsPort: number;
  metricsPort?: number;
  /** Recompiles now (the watcher does this on every change). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Logs each diagnostic once, when it first appears; a compile with the same problems stays quiet. */
function diagnosticLogger(log: Logger): (diagnostics: Diagnostic[]) => void {
  let previous = new Set<string>();
  return (diagnostics) => {
    const current = new Set<string>();
    for (const d of sortDiagnostics(diagnostics)) {
      const line = formatDiagnostic(d);
      current.add(line);
      if (previous.has(line)) continue;
      const fields = {
        code: d.code,
        file: d.file,
        line: d.line,
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        field: d.field,
      };
      if (d.severity === 'error') log.error(fields, `${line} (left out; the rest ships)`);
      else log.warn(fields, line);
    }
    previous = current;
  };
}

export async function startFolderOperator(options: FolderOperatorOptions): Promise<FolderOperator> {
  const { log } = options;
  const controlPlane = new XdsControlPlane({
    log,
    processMetrics: options.processMetrics,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const logDiagnostics = diagnosticLogger(log);
  const publish = (loaded: LoadResult) => {
    const started = performance.now();
    const result = compile(loaded.objects, {
      credentialHashKey: credentialHashKeyFrom(loaded.objects),
      extProc: options.extProc,
      serviceEndpoints: options.serviceEndpoints,
    });
    logDiagnostics([...loaded.diagnostics, ...result.errors, ...result.warnings]);
    // The Secrets the listeners and clusters name go out over SDS, never in the snapshot.
    const secrets = sdsSecretsFor(result.snapshot, secretLookupFromObjects(loaded.objects), (p) =>
      log.warn(
        { secret: p.secret, sds: p.resource, reason: p.reason },
        'SDS secret not served (Envoy keeps the last good one, or waits)',
      ),
    );
    try {
      controlPlane.publish(result.snapshot, secrets);
    } catch (err) {
      log.error(
        { err: (err as Error).message, code: (err as { code?: string }).code },
        'compiled snapshot does not encode; still serving the previous one',
      );
      return;
    }
    log.debug({ version: result.snapshot.version, ms: Math.round(performance.now() - started) }, 'compiled');
  };
  const watcher = new FolderWatcher({
    path: options.manifests,
    onChange: publish,
    debounceMs: options.debounceMs,
    pollMs: options.pollMs,
    onError: (err) => log.error({ err: err.message }, 'cannot read the manifests; still serving the previous snapshot'),
  });
  publish(await watcher.start());
  const ports = await controlPlane.listen({
    host: options.host,
    xdsPort: options.xdsPort,
    metricsPort: options.metricsPort,
  });
  return {
    controlPlane,
    ...ports,
    reload: () => watcher.reload(),
    stop: async () => {
      await watcher.stop();
      await controlPlane.stop();
    },
  };
}

export async function runOperator(o: OperatorOptions): Promise<number> {
  const log = createLogger('operator');
  const lifecycle = new Lifecycle(log);
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
            xds: o.xdsAddress ?? { host: `gatehouse-xds.${o.operatorNamespace}.svc`, port: o.xdsPort },
            envoyImage: o.envoyImage,
            gatehouseImage: o.gatehouseImage,
          }
        : undefined,
      ...(o.xdsTls === 'issued' ? { xdsTls: 'issued' as const } : tls ? { xdsTls: tls } : {}),
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
