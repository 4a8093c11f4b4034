// Entry point of `gatehouse operator`. Folder mode (--manifests DIR): load and compile the folder,
// serve the snapshot over ADS, watch the folder and push every change; bad objects are reported and
// left out, the rest ships. Without --manifests, the kube mode (kube-operator.ts).
import type { Options, OptionValue } from '../../bin/cli.ts';
import { parsePort } from '../../bin/cli.ts';
import { UsageError } from '../../lib/errors.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { serverTlsFromFlags, startServerTls, type ServerTls } from '../../lib/tls/flags.ts';
import { compile, type CompileOptions } from './compile/compile.ts';
import { durationMs } from './compile/durations.ts';
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
