// The `gatehouse` command line: one table of subcommands (DESIGN 1), each with its flags, defaults
// and help. A command's implementation is loaded only when it runs, so `--help` stays fast and one
// plane's dependencies never load for another.
import { parseArgs } from 'node:util';
import { GatehouseError, UsageError } from '../lib/errors.ts';

export type OptionValue = string | boolean | undefined;
export type Options = Record<string, OptionValue>;

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string;
  value?: string; // placeholder in help, e.g. DIR
  description: string;
}

export interface CommandSpec {
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Runs the command; resolves to the exit code (long-running ones resolve at shutdown). */
  run: (options: Options) => Promise<number>;
}

const PORT = 'PORT';

export const commands: Record<string, CommandSpec> = {
  operator: {
    summary: 'control plane: watch CRDs (or a folder), compile, serve xDS, write status',
    usage: 'gatehouse operator [--manifests DIR | --kubeconfig FILE] [--namespace NS] [--operator-namespace NS]',
    options: {
      'xds-port': { type: 'string', default: '18000', value: PORT, description: 'ADS (xDS) gRPC port' },
      'metrics-port': { type: 'string', default: '8081', value: PORT, description: 'metrics, health and /debug port' },
      manifests: {
        type: 'string',
        value: 'DIR',
        description: 'read a folder of YAML instead of a cluster, and watch it',
      },
      kubeconfig: { type: 'string', value: 'FILE', description: 'kubeconfig (default: in-cluster, then $KUBECONFIG)' },
      namespace: { type: 'string', value: 'NS', description: 'watch only this namespace (default: all)' },
      'operator-namespace': {
        type: 'string',
        value: 'NS',
        description:
          'where the Lease, the credential hash key and the xDS Service live (default: $POD_NAMESPACE, else gatehouse-system)',
      },
      identity: {
        type: 'string',
        value: 'NAME',
        description: 'this replica in the Lease and in Events (default: $POD_NAME, else host-pid)',
      },
      'leader-elect': {
        type: 'string',
        default: 'true',
        value: 'BOOL',
        description: 'elect one replica (Lease) to write status and manage workloads; false for a single replica',
      },
      'lease-name': {
        type: 'string',
        default: 'gatehouse-operator',
        value: 'NAME',
        description: 'the coordination.k8s.io Lease',
      },
      'lease-duration': {
        type: 'string',
        default: '15s',
        value: 'DURATION',
        description: 'how long a Lease holds without renewal before another replica may take it',
      },
      'renew-deadline': {
        type: 'string',
        default: '10s',
        value: 'DURATION',
        description: 'the leader steps down when it cannot renew for this long',
      },
      'retry-period': {
        type: 'string',
        default: '2s',
        value: 'DURATION',
        description: 'how often replicas try to acquire or renew the Lease',
      },
      'extproc-address': {
        type: 'string',
        value: 'HOST:PORT',
        description:
          "where Envoy reaches extproc (default: 127.0.0.1:9002 with --manifests, else the first DataPlane's extproc Service)",
      },
      'xds-address': {
        type: 'string',
        value: 'HOST:PORT',
        description: 'what DataPlane pods dial for xDS (default: gatehouse-xds.<operator-namespace>.svc:<xds-port>)',
      },
      'envoy-image': {
        type: 'string',
        default: 'docker.io/envoyproxy/envoy:distroless-v1.36.2',
        value: 'IMAGE',
        description: 'image of DataPlane Envoy pods (a DataPlane may override it)',
      },
      'gatehouse-image': {
        type: 'string',
        default: 'ghcr.io/gatehouse-dev/gatehouse:0.1.0',
        value: 'IMAGE',
        description: 'image of DataPlane extproc pods (a DataPlane may override it)',
      },
      'manage-dataplanes': {
        type: 'string',
        default: 'true',
        value: 'BOOL',
        description: 'create and correct the workloads of DataPlane objects',
      },
      'xds-tls': {
        type: 'string',
        value: 'issued',
        description:
          'kube mode: serve xDS with the certificate the operator issues itself (gatehouse-xds-tls), client certificates required',
      },
      'tls-cert': {
        type: 'string',
        value: 'FILE',
        description: 'serve xDS over TLS with this certificate chain (PEM; reloaded when it changes)',
      },
      'tls-key': { type: 'string', value: 'FILE', description: 'the private key of --tls-cert' },
      'tls-client-ca': {
        type: 'string',
        value: 'FILE',
        description: 'require client certificates signed by this CA bundle (mutual TLS; reloaded)',
      },
      'tls-min-version': {
        type: 'string',
        default: 'TLSv1.2',
        value: 'VERSION',
        description: 'lowest TLS version accepted: TLSv1.2 | TLSv1.3',
      },
      'tls-max-version': {
        type: 'string',
        default: 'TLSv1.3',
        value: 'VERSION',
        description: 'highest TLS version accepted',
      },
      'tls-cipher-suites': {
        type: 'string',
        value: 'LIST',
        description: "TLS 1.2 cipher suites, comma-separated OpenSSL names (default: Node's)",
      },
    },
    run: async (o) => (await import('../operator/src/main.ts')).runOperator(o),
  },
  extproc: {
    summary: 'data-plane policy engine: Envoy ext_proc gRPC service',
    usage: 'gatehouse extproc (--snapshot FILE | --xds HOST:PORT) [--redis URL [--redis-mode MODE]] [--cache-dir DIR]',
    options: {
      port: { type: 'string', default: '9002', value: PORT, description: 'ext_proc gRPC port' },
      'metrics-port': {
        type: 'string',
        default: '9003',
        value: PORT,
        description: '/healthz, /readyz and /metrics port',
      },
      snapshot: {
        type: 'string',
        value: 'FILE',
        description: 'runtime snapshot JSON written by `gatehouse compile` (reloaded on change)',
      },
      xds: { type: 'string', value: 'HOST:PORT', description: 'subscribe to the runtime snapshot over ADS' },
      'node-id': {
        type: 'string',
        value: 'ID',
        description:
          'xDS node id, unique per process: the pod name in a DataPlane (default: $GATEHOUSE_NODE_ID, else extproc/HOSTNAME)',
      },
      'node-cluster': {
        type: 'string',
        default: 'gatehouse-extproc',
        value: 'NAME',
        description:
          'xDS node cluster: NAMESPACE/DATAPLANE/extproc in a DataPlane, which maps the node to it in status',
      },
      redis: {
        type: 'string',
        value: 'URL',
        description:
          'shared state in Redis (default: $GATEHOUSE_REDIS_URL, else in-memory stores); prefer the variable: arguments are visible in /proc',
      },
      'redis-mode': {
        type: 'string',
        default: 'Standalone',
        value: 'MODE',
        description: 'Standalone | Sentinel (redis://h1,h2/?name=MASTER) | Cluster (redis://h1:p1,h2:p2)',
      },
      'redis-on-unavailable': {
        type: 'string',
        default: 'FailClosed',
        value: 'ACTION',
        description: 'FailClosed (503) | LocalFallback (count per replica at limit/replicas)',
      },
      'redis-deadline-ms': {
        type: 'string',
        default: '75',
        value: 'MS',
        description: 'longest a request waits on Redis',
      },
      replicas: {
        type: 'string',
        default: '1',
        value: 'N',
        description: 'extproc replicas sharing each limit (for LocalFallback)',
      },
      region: {
        type: 'string',
        default: 'default',
        value: 'NAME',
        description: 'the region: prefixes every Redis key, so regions sharing a Redis never meet',
      },
      'cache-dir': {
        type: 'string',
        value: 'DIR',
        description: 'keep the last good snapshot here and start from it when the control plane is unreachable',
      },
      'max-body-bytes': {
        type: 'string',
        default: '1048576',
        value: 'BYTES',
        description: 'largest request/response body a policy may buffer (413 beyond)',
      },
      'max-buffered-body-bytes': {
        type: 'string',
        default: '134217728',
        value: 'BYTES',
        description: 'body bytes all streams together may hold (503 gatehouse.BodyBufferFull beyond)',
      },
      'max-headers-count': {
        type: 'string',
        default: '100',
        value: 'N',
        description: "headers per message, as Envoy's max_headers_count (431 / 502 beyond)",
      },
      'max-request-headers-kb': {
        type: 'string',
        default: '60',
        value: 'KIB',
        description: "header bytes per message, as Envoy's max_request_headers_kb (431 / 502 beyond)",
      },
      'stream-idle-timeout-ms': {
        type: 'string',
        default: '300000',
        value: 'MS',
        description: "end a stream with no message for this long (DEADLINE_EXCEEDED), as Envoy's stream_idle_timeout",
      },
      'max-streams': {
        type: 'string',
        default: '10000',
        value: 'N',
        description: 'streams open at once in this process; more are refused with RESOURCE_EXHAUSTED',
      },
      'max-connection-streams': {
        type: 'string',
        default: '0',
        value: 'N',
        description: 'concurrent streams per HTTP/2 connection (grpc.max_concurrent_streams); 0: none advertised',
      },
      workers: {
        type: 'string',
        value: 'N',
        description: 'worker threads for policy work on large bodies (default: CPUs - 1, at least 1; 0: inline)',
      },
      'work-queue': {
        type: 'string',
        default: '64',
        value: 'N',
        description: 'policy tasks that may wait for a busy worker (503 gatehouse.WorkQueueFull beyond)',
      },
      'work-budget-ms': {
        type: 'string',
        default: '1000',
        value: 'MS',
        description: "a phase's policy work on the workers, waiting included (503 gatehouse.WorkBudgetExceeded beyond)",
      },
      'offload-min-bytes': {
        type: 'string',
        default: '32768',
        value: 'BYTES',
        description: 'bodies from this size are checked on the workers; smaller ones inline',
      },
      'tls-cert': {
        type: 'string',
        value: 'FILE',
        description: 'serve ext_proc over TLS with this certificate chain (PEM; reloaded when it changes)',
      },
      'tls-key': { type: 'string', value: 'FILE', description: 'the private key of --tls-cert' },
      'tls-client-ca': {
        type: 'string',
        value: 'FILE',
        description: "require client certificates (Envoy's) signed by this CA bundle (mutual TLS; reloaded)",
      },
      'tls-min-version': {
        type: 'string',
        default: 'TLSv1.2',
        value: 'VERSION',
        description: 'lowest TLS version accepted: TLSv1.2 | TLSv1.3',
      },
      'tls-max-version': {
        type: 'string',
        default: 'TLSv1.3',
        value: 'VERSION',
        description: 'highest TLS version accepted',
      },
      'tls-cipher-suites': {
        type: 'string',
        value: 'LIST',
        description: "TLS 1.2 cipher suites, comma-separated OpenSSL names (default: Node's)",
      },
      'xds-tls-ca': {
        type: 'string',
        value: 'FILE',
        description: 'dial --xds over TLS, trusting this CA bundle (reloaded for new connections)',
      },
      'xds-tls-cert': {
        type: 'string',
        value: 'FILE',
        description: 'client certificate for --xds (mutual TLS; reloaded for new connections)',
      },
      'xds-tls-key': { type: 'string', value: 'FILE', description: 'the private key of --xds-tls-cert' },
    },
    run: async (o) => (await import('../extproc/src/main.ts')).runExtproc(o),
  },
  compile: {
    summary: 'offline: validate and compile manifests into a snapshot (runtime + Envoy resources)',
    usage: 'gatehouse compile -f DIR [-o FILE]',
    options: {
      file: {
        type: 'string',
        short: 'f',
        value: 'DIR',
        description: 'folder of YAML manifests (recursive), or one file',
      },
      output: {
        type: 'string',
        short: 'o',
        value: 'FILE',
        description: 'write the snapshot JSON here (default: stdout)',
      },
    },
    run: async (o) => (await import('../operator/src/compile-command.ts')).runCompile(o),
  },
  dev: {
    summary: 'everything on one machine: file source + xDS + extproc + devproxy + demo upstream',
    usage: 'gatehouse dev [-f DIR] [--port PORT] [--redis URL]',
    options: {
      file: {
        type: 'string',
        short: 'f',
        default: 'examples',
        value: 'DIR',
        description: 'manifests to serve (watched)',
      },
      port: { type: 'string', default: '8080', value: PORT, description: 'devproxy (the Envoy stand-in) HTTP port' },
      'extproc-port': { type: 'string', default: '9002', value: PORT, description: 'ext_proc gRPC port' },
      'xds-port': { type: 'string', default: '18000', value: PORT, description: 'ADS (xDS) gRPC port' },
      'metrics-port': { type: 'string', default: '9003', value: PORT, description: 'extproc metrics and health port' },
      'upstream-port': { type: 'string', default: '9090', value: PORT, description: 'demo upstream echo service port' },
      redis: { type: 'string', value: 'URL', description: 'shared state in Redis (default: in-memory stores)' },
    },
    run: async (o) => (await import('./dev.ts')).runDev(o),
  },
  devproxy: {
    summary: 'the Envoy stand-in for development and tests (not for production: use Envoy)',
    usage: 'gatehouse devproxy --xds HOST:PORT',
    options: {
      xds: {
        type: 'string',
        default: '127.0.0.1:18000',
        value: 'HOST:PORT',
        description: 'the xDS server to subscribe to',
      },
      node: { type: 'string', default: 'devproxy', value: 'ID', description: 'xDS node id' },
      'admin-port': {
        type: 'string',
        default: '9901',
        value: PORT,
        description: "admin endpoint on 127.0.0.1, at Envoy's paths: /ready, /stats/prometheus",
      },
      'xds-tls-ca': {
        type: 'string',
        value: 'FILE',
        description: 'dial --xds over TLS, trusting this CA bundle (reloaded for new connections)',
      },
      'xds-tls-cert': {
        type: 'string',
        value: 'FILE',
        description: 'client certificate for --xds (mutual TLS; reloaded for new connections)',
      },
      'xds-tls-key': { type: 'string', value: 'FILE', description: 'the private key of --xds-tls-cert' },
    },
    run: async (o) => (await import('../devproxy/src/main.ts')).runDevproxy(o),
  },
};

function commandHelp(name: string, spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([flag, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${flag}${o.value ? ` ${o.value}` : ''}`;
    const def = o.default === undefined ? '' : ` (default: ${o.default})`;
    return `  ${left.padEnd(30)} ${o.description}${def}`;
  });
  rows.push(`  ${'-h, --help'.padEnd(30)} show this help`);
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nOptions:\n${rows.join('\n')}\n`;
}

export function mainHelp(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return (
    'gatehouse: Kubernetes-native API management on Envoy\n\n' +
    `Usage: gatehouse <command> [options]\n\nCommands:\n${rows.join('\n')}\n\n` +
    "Run `gatehouse <command> --help` for a command's options.\n" +
    'Exit codes: 0 ok, 1 invalid input, 2 usage error or not available.\n'
  );
}

/** Parses a command's flags; throws UsageError naming the bad flag. */
export function parseCommand(name: string, argv: string[]): Options | 'help' {
  const spec = commands[name];
  if (!spec) throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}`);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag, o] of Object.entries(spec.options)) {
    options[flag] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
    };
  }
  let values: Options;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`gatehouse ${name}: ${(err as Error).message}`);
  }
  if (values.help) return 'help';
  for (const [flag, o] of Object.entries(spec.options)) {
    if (o.value === PORT && typeof values[flag] === 'string') parsePort(name, flag, values[flag]);
  }
  return values;
}

export function parsePort(command: string, flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) {
    throw new UsageError(`gatehouse ${command}: --${flag}: "${value}" is not a port number (0-65535)`);
  }
  return port;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  try {
    const parsed = parseCommand(name, rest);
    if (parsed === 'help') {
      process.stdout.write(commandHelp(name, commands[name]!));
      return 0;
    }
    return await commands[name]!.run(parsed);
  } catch (err) {
    if (err instanceof GatehouseError) {
      process.stderr.write(`gatehouse: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    throw err;
  }
}
