// `gatehouse extproc`: its flags, defaults and help, declared once, and the rules across flags. A new
// flag is one row of the table; its parsed value reaches runExtproc as a camelCase option. Loads only
// lib/cli; the server is imported when the command runs.
import { defineCommand } from '../../lib/cli/command.ts';
import { hostPort, oneOf, port, positiveInt, text, type FlagValues } from '../../lib/cli/flags.ts';
import { serverTlsConfig, serverTlsFlags, xdsTlsConfig, xdsTlsFlags } from '../../lib/cli/tls.ts';
import { UsageError } from '../../lib/errors.ts';

const flags = {
  port: port({ default: 9002, description: 'ext_proc gRPC port' }),
  'metrics-port': port({ default: 9003, description: '/healthz, /readyz and /metrics port' }),
  snapshot: text({
    value: 'FILE',
    description: 'runtime snapshot JSON written by `gatehouse compile` (reloaded on change)',
  }),
  xds: hostPort({ description: 'subscribe to the runtime snapshot over ADS' }),
  'node-id': text({
    value: 'ID',
    description: 'xDS node id, unique per process: the pod name in a DataPlane',
    defaultText: '$GATEHOUSE_NODE_ID, else extproc/HOSTNAME',
  }),
  'node-cluster': text({
    value: 'NAME',
    default: 'gatehouse-extproc',
    description: 'xDS node cluster: NAMESPACE/DATAPLANE/extproc in a DataPlane, which maps the node to it in status',
  }),
  redis: text({
    value: 'URL',
    env: 'GATEHOUSE_REDIS_URL',
    description: 'shared state in Redis; prefer the variable: arguments are visible in /proc',
    defaultText: 'in-memory stores',
  }),
  'redis-mode': oneOf(['Standalone', 'Sentinel', 'Cluster'], {
    value: 'MODE',
    default: 'Standalone',
    description: 'how --redis names the servers: Sentinel redis://h1,h2/?name=MASTER, Cluster redis://h1:p1,h2:p2',
  }),
  'redis-on-unavailable': oneOf(['FailClosed', 'LocalFallback'], {
    value: 'ACTION',
    default: 'FailClosed',
    description: 'when Redis is down: FailClosed answers 503, LocalFallback counts per replica at limit/replicas',
  }),
  'redis-deadline-ms': positiveInt({ value: 'MS', default: 75, description: 'longest a request waits on Redis' }),
  replicas: positiveInt({ default: 1, description: 'extproc replicas sharing each limit (for LocalFallback)' }),
  region: text({
    value: 'NAME',
    default: 'default',
    description: 'the region: prefixes every Redis key, so regions sharing a Redis never meet',
  }),
  'cache-dir': text({
    value: 'DIR',
    description: 'keep the last good snapshot here and start from it when the control plane is unreachable',
  }),
  'max-body-bytes': positiveInt({
    value: 'BYTES',
    default: 1_048_576,
    description: 'largest request/response body a policy may buffer (413 beyond)',
  }),
  ...serverTlsFlags({ serves: 'ext_proc', clientCertificates: "client certificates (Envoy's)" }),
  ...xdsTlsFlags(),
};

function extprocOptions(v: FlagValues<typeof flags>) {
  if ((v.xds === undefined) === (v.snapshot === undefined))
    throw new UsageError('give one of --snapshot FILE or --xds HOST:PORT');
  const xdsTls = xdsTlsConfig(v);
  if (xdsTls && v.xds === undefined) throw new UsageError('--xds-tls-* need --xds');
  return { ...v, tls: serverTlsConfig(v), xdsTls };
}

export type ExtprocOptions = ReturnType<typeof extprocOptions>;

export const extprocCommand = defineCommand({
  name: 'extproc',
  summary: 'data-plane policy engine: Envoy ext_proc gRPC service',
  usage: 'gatehouse extproc (--snapshot FILE | --xds HOST:PORT) [--redis URL [--redis-mode MODE]] [--cache-dir DIR]',
  flags,
  options: extprocOptions,
  run: async (o) => (await import('./main.ts')).runExtproc(o),
});
