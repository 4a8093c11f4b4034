// Test helpers: a control plane on a free port with a silent logger, snapshots compiled from a few
// generated proxies, and raw ADS clients that queue what they receive.
import type * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../../lib/log.ts';
import { compile, type Snapshot } from '../compile/compile.ts';
import { XdsControlPlane } from './control-plane.ts';
import { adsClient, typeNames, type TypeUrl } from './protos.ts';
import type { EncodedResource, EncodedSnapshot } from './resources.ts';
import type { ServedSnapshots } from './snapshot-cache.ts';
import type { DeltaDiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DeltaDiscoveryRequest.ts';
import type { DiscoveryRequest } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryRequest.ts';
import type { DeltaDiscoveryResponse__Output } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DeltaDiscoveryResponse.ts';
import type { DiscoveryResponse__Output } from '../../../protos/gen/envoy/envoy/service/discovery/v3/DiscoveryResponse.ts';

export const silentLog = createLogger('test', 'silent');

/** A snapshot of `n` proxies; `timeout` changes every route, `header` only the runtime snapshot. */
export function testSnapshot(n: number, options: { timeout?: string; header?: string } = {}): Snapshot {
  const objects = [];
  for (let i = 0; i < n; i++) {
    objects.push({
      object: {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ApiProxy',
        metadata: { name: `api-${i}`, namespace: 'shop' },
        spec: {
          basePath: `/api-${i}`,
          target: { url: `http://127.0.0.1:${9000 + i}`, timeout: options.timeout ?? '30s' },
          flows: { preFlow: { request: [{ policy: 'tag' }] } },
        },
      },
    });
  }
  objects.push({
    object: {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name: 'tag', namespace: 'shop' },
      spec: { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-tag': options.header ?? 'one' } } } },
    },
  });
  return compile(objects).snapshot;
}

export async function startControlPlane(): Promise<{ controlPlane: XdsControlPlane; address: string }> {
  const controlPlane = new XdsControlPlane({ log: silentLog });
  const { xdsPort } = await controlPlane.listen({ host: '127.0.0.1', xdsPort: 0 });
  return { controlPlane, address: `127.0.0.1:${xdsPort}` };
}

/** Queues a stream's messages; next() waits for the next one (or fails after `ms`). */
class Inbox<T> {
  private readonly queue: T[] = [];
  private waiter: ((m: T) => void) | undefined;

  push(m: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  next(ms = 3000): Promise<T> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      this.waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  /** Resolves true when nothing arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    if (this.queue.length > 0) return false;
    return this.next(ms).then(
      () => false,
      () => true,
    );
  }
}

export function sotwClient(address: string) {
  const client = adsClient(address);
  const stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output> =
    client.StreamAggregatedResources();
  const inbox = new Inbox<DiscoveryResponse__Output>();
  stream.on('data', (m: DiscoveryResponse__Output) => inbox.push(m));
  stream.on('error', () => undefined);
  return {
    send: (req: DiscoveryRequest) => stream.write(req),
    next: (ms?: number) => inbox.next(ms),
    quiet: (ms?: number) => inbox.quiet(ms),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

export function deltaClient(address: string) {
  const client = adsClient(address);
  const stream: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output> =
    client.DeltaAggregatedResources();
  const inbox = new Inbox<DeltaDiscoveryResponse__Output>();
  stream.on('data', (m: DeltaDiscoveryResponse__Output) => inbox.push(m));
  stream.on('error', () => undefined);
  return {
    send: (req: DeltaDiscoveryRequest) => stream.write(req),
    next: (ms?: number) => inbox.next(ms),
    quiet: (ms?: number) => inbox.quiet(ms),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

/** Polls until `check` holds (or fails after ~3 s). */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - started > ms) throw new Error('condition not met in time');
  }
}

type Contents = Partial<Record<'CDS' | 'EDS' | 'LDS' | 'RDS' | 'SDS' | 'runtime', Record<string, string>>>;

/** A snapshot whose resources are opaque bytes: name -> content (the content is the resource version). */
/** One DataPlane's view (served to every node of no DataPlane, as the only view). */
export function fakeSnapshot(version: string, contents: Contents): ServedSnapshots {
  return { version, views: new Map([['default/default', fakeView(version, contents)]]) };
}

export function fakeView(version: string, contents: Contents): EncodedSnapshot {
  const resources = new Map<TypeUrl, Map<string, EncodedResource>>();
  for (const [short, byName] of Object.entries(contents)) {
    const type = (Object.keys(typeNames) as TypeUrl[]).find((t) => typeNames[t] === short)!;
    resources.set(
      type,
      new Map(
        Object.entries(byName).map(([name, content]) => [
          name,
          { name, version: content, any: { type_url: type, value: Buffer.from(`${name}=${content}`) } },
        ]),
      ),
    );
  }
  return { version, resources };
}

/** A hand-built snapshot served whole to one DataPlane, "default/default" (every node of none gets it). */
export function servedWhole(snapshot: Omit<Snapshot, 'dataPlanes'>): Snapshot {
  const sortedNames = <T>(items: readonly T[], name: (item: T) => string | undefined) =>
    items.map((i) => name(i) ?? '').sort();
  const { envoy } = snapshot;
  return {
    ...snapshot,
    dataPlanes: [
      {
        dataPlane: 'default/default',
        runtime: snapshot.runtime,
        names: {
          listeners: sortedNames(envoy.listeners, (l) => l.name),
          routes: sortedNames(envoy.routes, (r) => r.name),
          clusters: sortedNames(envoy.clusters, (c) => c.name),
          endpoints: sortedNames(envoy.endpoints, (e) => e.cluster_name),
          secrets: snapshot.secretRefs.map((s) => s.name).sort(),
        },
      },
    ],
  };
}
