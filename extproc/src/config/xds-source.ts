// The runtime snapshot over ADS (`gatehouse extproc --xds HOST:PORT`): a state-of-the-world
// subscription to the one `runtime` resource of type gatehouse.v1.RuntimeSnapshot. A snapshot that
// fails extproc's own checks (decoding, unknown policy types, bad configuration) is NACKed with the
// error and the previous one keeps serving; a good one is applied, ACKed and written to --cache-dir.
// When the control plane cannot be reached at start, the cached snapshot is served until it can.
// The stream reconnects with exponential backoff and jitter. Over TLS (mutual with a client
// certificate) when given credentials: each new connection uses the certificate files as they are then.
import type * as grpc from '@grpc/grpc-js';
import { hostname } from 'node:os';
import type { Logger } from '../../../lib/log.ts';
import {
  createAdsClient,
  runtimeTypeUrl,
  type AggregatedDiscoveryServiceClient,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from './ads-client.ts';
import { RuntimeSnapshotDecoder, SnapshotInvalidError } from './decode.ts';
import { SnapshotDiskCache } from './snapshot-cache.ts';
import { defaultCatalog, loadSnapshot, type LoadedSnapshot, type PolicyCatalog } from './snapshot.ts';
import type { SnapshotSink, SnapshotSource } from './snapshot-store.ts';

export interface XdsSourceOptions {
  /** HOST:PORT of the ADS server. */
  address: string;
  nodeId?: string;
  cluster?: string;
  cacheDir?: string;
  catalog?: PolicyCatalog;
  log?: Logger;
  /** How long start() waits for the control plane before serving the cache. */
  initialTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** TLS to the control plane (lib/tls grpcChannelCredentials); default plain text. */
  credentials?: grpc.ChannelCredentials;
}

/** Where the snapshot being served came from. */
export type SnapshotOrigin = 'none' | 'control-plane' | 'cache';

const INVALID_ARGUMENT = 3;
const runtimeResourceName = 'runtime';

export const defaultNodeId = () => process.env.GATEHOUSE_NODE_ID ?? `extproc/${hostname()}`;

export class XdsSnapshotSource implements SnapshotSource {
  private readonly options: Required<Omit<XdsSourceOptions, 'cacheDir' | 'log' | 'credentials'>> &
    Pick<XdsSourceOptions, 'log'>;
  private readonly cache: SnapshotDiskCache | undefined;
  private readonly client: AggregatedDiscoveryServiceClient;
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private sink: SnapshotSink | undefined;
  /** The last snapshot applied: the next load reuses its unchanged proxies. */
  private applied: LoadedSnapshot | undefined;
  private readonly decoder = new RuntimeSnapshotDecoder();
  private acceptedVersion = '';
  private origin: SnapshotOrigin = 'none';
  private connected = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private firstOutcome: (() => void) | undefined;
  private cacheWrites: Promise<void> = Promise.resolve();

  constructor(options: XdsSourceOptions) {
    this.options = {
      nodeId: defaultNodeId(),
      cluster: 'gatehouse-extproc',
      catalog: defaultCatalog,
      initialTimeoutMs: 5000,
      backoffBaseMs: 250,
      backoffMaxMs: 30_000,
      ...options,
    };
    this.cache = options.cacheDir === undefined ? undefined : new SnapshotDiskCache(options.cacheDir);
    // The runtime snapshot of a large installation is bigger than gRPC's 4 MiB default.
    this.client = createAdsClient(
      options.address,
      { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
      options.credentials,
    );
  }

  /**
   * Resolves once a snapshot is served: the control plane's, or, when it cannot be reached within
   * initialTimeoutMs, the cached one. With neither, resolves anyway (not ready) and keeps trying.
   */
  async start(sink: SnapshotSink): Promise<void> {
    this.sink = sink;
    const first = new Promise<void>((resolve) => {
      this.firstOutcome = resolve;
    });
    const timer = setTimeout(() => this.firstOutcome?.(), this.options.initialTimeoutMs);
    this.connect();
    await first;
    clearTimeout(timer);
    this.firstOutcome = undefined;
    if (this.origin === 'none') await this.serveCache();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stream?.cancel();
    this.client.close();
    await this.cacheWrites;
  }

  /** Where the served snapshot came from and whether the subscription is up: for logs and /readyz. */
  state(): { origin: SnapshotOrigin; connected: boolean; version: string } {
    return { origin: this.origin, connected: this.connected, version: this.acceptedVersion };
  }

  /** Resolves when the accepted snapshots so far are on disk. */
  cached(): Promise<void> {
    return this.cacheWrites;
  }

  /** For /readyz: says so when the snapshot served is the cached one. */
  describe(): string | undefined {
    if (this.origin !== 'cache') return undefined;
    return `from the cache ${this.cache?.file ?? ''}: control plane ${this.options.address} ${this.connected ? 'rejected the newer snapshot' : 'unreachable'}`;
  }

  private connect(): void {
    if (this.stopped) return;
    const stream = this.client.StreamAggregatedResources();
    this.stream = stream;
    stream.on('data', (response: DiscoveryResponse) => this.onResponse(stream, response));
    stream.on('error', () => {
      /* the status below is what matters */
    });
    stream.on('status', (status: grpc.StatusObject) => this.onClosed(stream, status.details));
    // A cached snapshot is not the control plane's word: ask for the current one whatever its version.
    const versionInfo = this.origin === 'control-plane' ? this.acceptedVersion : '';
    this.send(stream, { versionInfo, node: { id: this.options.nodeId, cluster: this.options.cluster } });
  }

  private send(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, request: DiscoveryRequest): void {
    stream.write({ typeUrl: runtimeTypeUrl, resourceNames: [runtimeResourceName], ...request });
  }

  private onClosed(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, details: string): void {
    if (stream !== this.stream || this.stopped) return;
    this.stream = undefined;
    this.connected = false;
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** this.attempt++);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    // Warn when the stream goes down; the retries after that are routine.
    const level = this.attempt === 1 ? 'warn' : 'debug';
    this.options.log?.[level](
      { address: this.options.address, error: details, retryInMs: delay, origin: this.origin },
      'xDS stream down; reconnecting',
    );
    this.firstOutcome?.();
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private onResponse(
    stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>,
    response: DiscoveryResponse,
  ): void {
    if (response.typeUrl !== runtimeTypeUrl) return;
    this.connected = true;
    this.attempt = 0;
    const any = response.resources.find((r) => r.type_url === runtimeTypeUrl);
    let loaded: LoadedSnapshot;
    try {
      if (!any || response.resources.length !== 1)
        throw new SnapshotInvalidError(`expected one ${runtimeTypeUrl} resource, got ${response.resources.length}`);
      loaded = loadSnapshot(this.decoder.decode(any.value), this.options.catalog, this.applied);
    } catch (err) {
      const message = (err as Error).message;
      this.send(stream, {
        versionInfo: this.acceptedVersion,
        responseNonce: response.nonce,
        errorDetail: { code: INVALID_ARGUMENT, message },
      });
      this.sink?.reject(err as Error);
      this.firstOutcome?.();
      return;
    }
    this.sink?.apply(loaded);
    this.applied = loaded;
    this.acceptedVersion = response.versionInfo;
    this.origin = 'control-plane';
    this.send(stream, { versionInfo: response.versionInfo, responseNonce: response.nonce });
    if (this.cache) {
      const cache = this.cache;
      this.cacheWrites = this.cacheWrites
        .then(() => cache.write(any.value))
        .catch((err: Error) => {
          this.options.log?.error({ file: cache.file, err: err.message }, 'cannot write the snapshot cache');
        });
    }
    this.firstOutcome?.();
  }

  private async serveCache(): Promise<void> {
    if (!this.cache) return;
    let bytes: Buffer | undefined;
    try {
      bytes = await this.cache.read();
      if (!bytes) return;
      const loaded = loadSnapshot(this.decoder.decode(bytes), this.options.catalog);
      if (this.origin !== 'none') return; // the control plane answered meanwhile
      this.sink?.apply(loaded);
      this.applied = loaded;
      this.origin = 'cache';
      this.acceptedVersion = loaded.version;
      this.options.log?.warn(
        { file: this.cache.file, version: loaded.version, address: this.options.address },
        'control plane unreachable: serving the cached snapshot',
      );
    } catch (err) {
      this.options.log?.error(
        { file: this.cache.file, err: (err as Error).message },
        'the cached snapshot cannot be used',
      );
    }
  }
}
