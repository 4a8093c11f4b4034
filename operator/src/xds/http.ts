// The operator's metrics port: /healthz (alive), /readyz (a snapshot is being served), /metrics
// (Prometheus) and /debug/nodes (every connected node, the version it applied and its last NACK).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { XdsMetrics } from './metrics.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { SnapshotCache } from './snapshot-cache.ts';

export function createOperatorHttpServer(deps: {
  cache: SnapshotCache;
  registry: NodeRegistry;
  metrics: XdsMetrics;
}): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${body}\n`);
    if (path === '/healthz') {
      text(200, 'ok');
    } else if (path === '/readyz') {
      const snapshot = deps.cache.current();
      if (snapshot) text(200, `ready: serving snapshot ${snapshot.version}`);
      else text(503, 'no snapshot compiled yet');
    } else if (path === '/debug/nodes') {
      const body = { version: deps.cache.current()?.version ?? null, nodes: deps.registry.list() };
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
    } else if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      text(404, 'not found');
    }
  });
}

export function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
