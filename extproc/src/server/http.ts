// The metrics port: /healthz (the process is alive), /readyz (a snapshot is loaded, so Envoy's
// requests can be served), /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SnapshotProvider } from '../config/snapshot-store.ts';
import type { ExtprocMetrics } from './metrics.ts';

/** `sourceNote` adds where the snapshot came from to /readyz, e.g. "from the cache: control plane unreachable". */
export function createHealthServer(
  snapshots: SnapshotProvider,
  metrics: ExtprocMetrics,
  sourceNote: () => string | undefined = () => undefined,
): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const snapshot = snapshots.current();
      const note = snapshot && sourceNote();
      if (snapshot)
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(`ready: snapshot ${snapshot.version}${note ? ` (${note})` : ''}\n`);
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('no runtime snapshot loaded\n');
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}

export function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
