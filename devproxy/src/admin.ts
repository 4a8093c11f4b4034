// devproxy's admin endpoint, at the paths Envoy's admin serves (docs/architecture.md#processes-and-the-cli: every process exposes
// Prometheus metrics): `/ready` (200 once a listener is bound, as Envoy's is once it is initialised),
// `/stats/prometheus` and its alias `/metrics`.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class DevproxyMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'devproxy_http_requests_total',
    help: 'downstream requests by response status',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'devproxy_http_request_duration_seconds',
    help: 'downstream request time, ext_proc and upstream included',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly listeners: Gauge;

  constructor(boundListeners: () => number) {
    this.listeners = new Gauge({
      name: 'devproxy_listeners',
      help: 'listeners bound from LDS',
      registers: [this.registry],
      collect() {
        this.set(boundListeners());
      },
    });
  }

  observe(status: number, seconds: number): void {
    this.requests.inc({ code: String(status) });
    this.duration.observe(seconds);
  }
}

export function createAdminServer(metrics: DevproxyMetrics, ready: () => boolean): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/ready') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'LIVE\n' : 'PRE_INITIALIZING\n');
    } else if (path === '/stats/prometheus' || path === '/metrics') {
      void metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}
