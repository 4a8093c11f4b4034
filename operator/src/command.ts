// `gatehouse operator`, `gatehouse compile`, `gatehouse status`, `gatehouse import` and `gatehouse trace`: their flags, defaults and help, declared once, and the
// rules across flags. Loads only lib/cli; the commands' code is imported when they run.
import { defineCommand } from '../../lib/cli/command.ts';
import {
  bool,
  duration,
  hostPort,
  oneOf,
  port,
  positiveInt,
  repeated,
  text,
  toggle,
  type FlagValues,
} from '../../lib/cli/flags.ts';
import { serverTlsConfig, serverTlsFlags } from '../../lib/cli/tls.ts';
import { UsageError } from '../../lib/errors.ts';

const operatorFlags = {
  'xds-port': port({ default: 18000, description: 'ADS (xDS) gRPC port' }),
  'metrics-port': port({ default: 8081, description: 'metrics, health and /debug port' }),
  'otlp-endpoint': text({
    value: 'HOST:PORT',
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description:
      'send spans (snapshot rebuilds with compile and publish, controller reconciles) to this OTLP gRPC collector',
    defaultText: 'no tracing',
  }),
  manifests: text({ value: 'DIR', description: 'read a folder of YAML instead of a cluster, and watch it' }),
  kubeconfig: text({ value: 'FILE', description: 'kubeconfig', defaultText: 'in-cluster, then $KUBECONFIG' }),
  namespace: text({ value: 'NS', description: 'watch only this namespace', defaultText: 'all' }),
  'operator-namespace': text({
    value: 'NS',
    env: 'POD_NAMESPACE',
    default: 'gatehouse-system',
    description: 'where the Lease, the credential hash key and the xDS Service live',
  }),
  identity: text({
    value: 'NAME',
    description: 'this replica in the Lease and in Events',
    defaultText: '$POD_NAME, else HOSTNAME-PID',
  }),
  'leader-elect': bool({
    default: true,
    description: 'elect one replica (Lease) to write status and manage workloads; false for a single replica',
  }),
  'lease-name': text({ value: 'NAME', default: 'gatehouse-operator', description: 'the coordination.k8s.io Lease' }),
  'lease-duration': duration({
    default: 15_000,
    description: 'how long a Lease holds without renewal before another replica may take it',
  }),
  'renew-deadline': duration({
    default: 10_000,
    description: 'the leader steps down when it cannot renew for this long',
  }),
  'retry-period': duration({ default: 2_000, description: 'how often replicas try to acquire or renew the Lease' }),
  'extproc-address': hostPort({
    description: 'where Envoy reaches extproc',
    defaultText: "127.0.0.1:9002 with --manifests, else the first DataPlane's extproc Service",
  }),
  'xds-address': hostPort({
    description: 'what DataPlane pods dial for xDS',
    defaultText: 'gatehouse-xds.<operator-namespace>.svc:<xds-port>',
  }),
  'envoy-image': text({
    value: 'IMAGE',
    default: 'docker.io/envoyproxy/envoy:distroless-v1.36.2',
    description: 'image of DataPlane Envoy pods (a DataPlane may override it)',
  }),
  'gatehouse-image': text({
    value: 'IMAGE',
    default: 'ghcr.io/gatehouse-dev/gatehouse:0.1.0',
    description: 'image of DataPlane extproc pods (a DataPlane may override it)',
  }),
  'manage-dataplanes': bool({ default: true, description: 'create and correct the workloads of DataPlane objects' }),
  'insecure-dev-credential-key': bool({
    default: false,
    description:
      'kube mode: run with the fixed, public development credential hash key when the Secret gatehouse-credential-hash-key is missing, instead of refusing to start (never in production)',
  }),
  'xds-tls': oneOf(['issued'], {
    value: 'issued',
    description:
      'kube mode: serve xDS with the certificate the operator issues itself (gatehouse-xds-tls), client certificates required',
  }),
  'webhook-port': port({
    description:
      'kube mode: serve the validating admission webhook (HTTPS, POST /validate) on this port with a certificate the operator issues (gatehouse-webhook-tls)',
    defaultText: 'not served',
  }),
  'webhook-service': text({
    value: 'NAME',
    default: 'gatehouse-webhook',
    description: "the webhook's Service in the operator namespace: its names go in the certificate",
  }),
  'webhook-configuration': text({
    value: 'NAME',
    default: 'gatehouse-validation',
    description: 'the ValidatingWebhookConfiguration whose caBundle the leader keeps equal to the operator CA',
  }),
  'webhook-san': repeated({
    value: 'NAME|IP',
    description: "another DNS name or IP address for the webhook's certificate (an apiserver that dials an address)",
  }),
  ...serverTlsFlags({ serves: 'xDS', clientCertificates: 'client certificates' }),
};

function operatorOptions(v: FlagValues<typeof operatorFlags>) {
  const tls = serverTlsConfig(v);
  if (v.xdsTls === 'issued' && tls)
    throw new UsageError('--xds-tls issued and --tls-cert/--tls-key name two certificates; choose one');
  if (v.webhookPort !== undefined && v.manifests !== undefined)
    throw new UsageError('--webhook-port serves a cluster: it has no use with --manifests');
  if (!(v.retryPeriod < v.renewDeadline && v.renewDeadline < v.leaseDuration))
    throw new UsageError('need --retry-period < --renew-deadline < --lease-duration');
  return { ...v, tls };
}

export type OperatorOptions = ReturnType<typeof operatorOptions>;

export const operatorCommand = defineCommand({
  name: 'operator',
  summary: 'control plane: watch CRDs (or a folder), compile, serve xDS, write status',
  usage: 'gatehouse operator [--manifests DIR | --kubeconfig FILE] [--namespace NS] [--operator-namespace NS]',
  flags: operatorFlags,
  options: operatorOptions,
  run: async (o) => (await import('./main.ts')).runOperator(o),
});

const compileFlags = {
  file: text({ short: 'f', value: 'DIR', description: 'folder of YAML manifests (recursive), or one file' }),
  output: text({ short: 'o', value: 'FILE', description: 'write the snapshot JSON here', defaultText: 'stdout' }),
};

function compileOptions(v: FlagValues<typeof compileFlags>) {
  if (v.file === undefined) throw new UsageError('-f DIR is required');
  return { file: v.file, output: v.output };
}

export type CompileCommandOptions = ReturnType<typeof compileOptions>;

export const compileCommand = defineCommand({
  name: 'compile',
  summary: 'offline: validate and compile manifests into a snapshot (runtime + Envoy resources)',
  usage: 'gatehouse compile -f DIR [-o FILE]',
  flags: compileFlags,
  options: compileOptions,
  run: async (o) => (await import('./compile-command.ts')).runCompile(o),
});

const statusFlags = {
  context: repeated({ value: 'NAME', description: 'a kubeconfig context, one per region; give it once per region' }),
  kubeconfig: text({ value: 'FILE', description: 'kubeconfig', defaultText: '$KUBECONFIG, else ~/.kube/config' }),
  namespace: text({
    short: 'n',
    value: 'NS',
    description: 'list ApiProxies in this namespace in every region',
    defaultText: "each context's namespace, else default",
  }),
  'all-namespaces': toggle({ short: 'A', description: 'list ApiProxies in all namespaces' }),
  output: oneOf(['table', 'json'], { short: 'o', default: 'table', description: 'what to print' }),
  'request-timeout': duration({ default: 10_000, description: 'how long to wait for each region' }),
};

function statusOptions(v: FlagValues<typeof statusFlags>) {
  const contexts = v.context ?? [];
  if (contexts.length === 0) throw new UsageError('name at least one region: --context NAME (once per region)');
  if (new Set(contexts).size !== contexts.length) throw new UsageError('a --context is given twice');
  const allNamespaces = v.allNamespaces ?? false;
  if (v.namespace !== undefined && allNamespaces)
    throw new UsageError('-n and -A name the namespaces twice; choose one');
  return {
    contexts,
    kubeconfig: v.kubeconfig,
    namespace: v.namespace,
    allNamespaces,
    output: v.output,
    requestTimeout: v.requestTimeout,
  };
}

export type StatusCommandOptions = ReturnType<typeof statusOptions>;

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'compare ApiProxies across regions (kubeconfig contexts); exit 1 when they disagree',
  usage: 'gatehouse status --context A --context B ... [--kubeconfig FILE] [-n NS | -A] [-o table|json]',
  flags: statusFlags,
  options: statusOptions,
  run: async (o) => (await import('./status-command.ts')).runStatus(o),
});

const importFlags = {
  output: text({ short: 'o', value: 'DIR', description: 'write one folder of YAML per bundle here' }),
  namespace: text({
    short: 'n',
    value: 'NS',
    description: 'namespace of every object written',
    defaultText: 'none, so the objects are in default',
  }),
  report: text({ value: 'FILE', description: 'write the report (what did not convert, and why) as JSON here' }),
  strict: toggle({ description: 'exit 1 when the report lists anything that did not convert' }),
  'virtual-host': repeated({
    value: 'NAME=HOST[,HOST]',
    description: 'the host names an Apigee virtual host stands for; give it once per virtual host',
  }),
};

function importOptions(v: FlagValues<typeof importFlags>, positionals: readonly string[]) {
  const [format, ...paths] = positionals;
  if (format !== 'apigee')
    throw new UsageError(`the source format comes first and is apigee (got ${format ?? 'nothing'})`);
  if (paths.length === 0)
    throw new UsageError('name at least one bundle: a folder, apiproxy/ folder, .zip or folder of them');
  if (v.output === undefined) throw new UsageError('-o DIR is required');
  const virtualHosts: Record<string, string[]> = {};
  for (const entry of v.virtualHost ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(entry);
    if (!m) throw new UsageError(`--virtual-host ${entry}: expected NAME=HOST[,HOST]`);
    virtualHosts[m[1]!] = m[2]!
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
  }
  if (v.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.namespace))
    throw new UsageError(`--namespace ${v.namespace}: not a Kubernetes namespace name`);
  return {
    paths,
    output: v.output,
    namespace: v.namespace,
    report: v.report,
    strict: v.strict ?? false,
    virtualHosts,
  };
}

export type ImportCommandOptions = ReturnType<typeof importOptions>;

export const importCommand = defineCommand({
  name: 'import',
  summary: 'convert Apigee proxy bundles (folders or .zip) into ApiProxy and ApiPolicy manifests',
  usage:
    'gatehouse import apigee PATH... -o DIR [--namespace NS] [--report FILE] [--strict] [--virtual-host NAME=HOST]',
  positionals: {
    value: 'apigee PATH...',
    description: 'the source format (apigee), then bundles: folders, apiproxy/ folders, .zip files or folders of them',
  },
  flags: importFlags,
  options: importOptions,
  run: async (o) => (await import('./import-command.ts')).runImport(o),
});

const traceFlags = {
  namespace: text({
    short: 'n',
    value: 'NS',
    description: 'namespace of the session (start: of the proxy when PROXY has no NS/)',
    defaultText: "the context's namespace, else default",
  }),
  filter: text({
    value: 'CONDITION',
    description: 'start: capture only transactions matching this Apigee condition (request.verb = "POST")',
    defaultText: 'every transaction',
  }),
  count: positiveInt({ description: 'start: transactions to capture, 1 to 15', defaultText: '10' }),
  timeout: text({
    value: 'DURATION',
    description: 'start: how long to capture, 1s to 1h (90s, 5m)',
    defaultText: '10m',
  }),
  name: text({ value: 'NAME', description: "start: the session's name", defaultText: 'PROXY-<random>' }),
  output: oneOf(['text', 'json'], { short: 'o', default: 'text', description: 'get: what to print' }),
  kubeconfig: text({ value: 'FILE', description: 'kubeconfig', defaultText: '$KUBECONFIG, else ~/.kube/config' }),
  context: text({ value: 'NAME', description: 'kubeconfig context', defaultText: 'the current one' }),
  'request-timeout': duration({ default: 10_000, description: 'how long to wait for the apiserver' }),
};

const traceDuration = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

function traceOptions(v: FlagValues<typeof traceFlags>, positionals: readonly string[]) {
  const [action, target, ...extra] = positionals;
  if (action !== 'start' && action !== 'get' && action !== 'stop')
    throw new UsageError(`the action comes first: start, get or stop (got ${action ?? 'nothing'})`);
  if (target === undefined)
    throw new UsageError(
      action === 'start'
        ? 'name the proxy: gatehouse trace start NS/PROXY'
        : `name the session: gatehouse trace ${action} ID`,
    );
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const startOnly = { filter: v.filter, count: v.count, timeout: v.timeout, name: v.name };
  if (action !== 'start')
    for (const [flag, value] of Object.entries(startOnly))
      if (value !== undefined) throw new UsageError(`--${flag} is for trace start only`);
  if (v.count !== undefined && v.count > 15) throw new UsageError(`--count ${v.count}: at most 15 (as Apigee)`);
  if (v.timeout !== undefined && !traceDuration.test(v.timeout))
    throw new UsageError(`--timeout ${v.timeout}: a duration such as 90s, 5m or 1h`);
  let namespace = v.namespace;
  let subject = target;
  if (target.includes('/')) {
    const [ns, name, ...more] = target.split('/');
    if (more.length > 0 || !ns || !name) throw new UsageError(`${target}: expected NS/NAME`);
    if (namespace !== undefined && namespace !== ns)
      throw new UsageError(`${target} and -n ${namespace} name two namespaces`);
    namespace = ns;
    subject = name;
  }
  return {
    action,
    subject,
    namespace,
    ...startOnly,
    output: v.output,
    kubeconfig: v.kubeconfig,
    context: v.context,
    requestTimeout: v.requestTimeout,
  };
}

export type TraceCommandOptions = ReturnType<typeof traceOptions>;

export const traceCommand = defineCommand({
  name: 'trace',
  summary: 'debug sessions (Apigee trace): start one on a proxy, print what it captured, stop it',
  usage:
    'gatehouse trace start NS/PROXY [--filter CONDITION] [--count N] [--timeout D] | get ID [-n NS] [-o text|json] | stop ID [-n NS]',
  positionals: {
    value: 'start NS/PROXY | get ID | stop ID',
    description: 'the action, then the proxy (start) or the session: its name (or NS/NAME) or its id (uid)',
  },
  flags: traceFlags,
  options: traceOptions,
  run: async (o) => (await import('./trace-command.ts')).runTrace(o),
});
