// The deep check of an Envoy pod (remediation/README.md#the-deep-check): what the operator can see
// of Envoy from outside its node, beyond the kubelet's local probe. One deadline covers the check:
//
// 1. `GET /ready` on the pod's ready port (9902): the DataPlane's bootstrap serves there the
//    health_check filter, whose answer is Envoy's admin `/ready` (200 once the server is initialised
//    and not draining; the admin itself listens on loopback only). devproxy answers its admin
//    `/ready` the same way (200 `LIVE`, else 503 and the state).
// 2. Optionally a real request through a data-plane listener to a route Envoy answers itself
//    (`healthRoute`): 200 passes. The remediation controller turns it on with envoyHealthPath, which
//    every compiled listener answers itself (compile/envoy/routes.ts healthRoute: a direct_response
//    that never reaches extproc or an upstream). Any other route would reach an upstream, and an
//    upstream outage would evict every Envoy.
//
// Plain HTTP, or TLS for an HTTPS listener without verifying the server: the check asks whether
// Envoy answers, not who it is (the certificates controller looks after that). Never throws.
import http from 'node:http';
import https from 'node:https';
import { ports, workloadName } from '../api/names.ts';
import { DEEP_CHECK_HEADER, type DeepCheckContext, type DeepCheckResult } from './deep-check.ts';

export interface EnvoyHealthRoute {
  /** The path Envoy answers itself: envoyHealthPath (/.gatehouse/healthz) once it is compiled. */
  path: string;
}

export interface EnvoyDeepCheckerOptions {
  /** Where the pod answers /ready (default 9902, the bootstrap's ready listener). */
  readyPort?: number;
  /** One deadline for the whole check (default 2000 ms). */
  timeoutMs?: number;
  healthRoute?: EnvoyHealthRoute;
}

/** The pod's DataPlane, and the listener the health route is asked on (its first). */
export interface EnvoyCheckContext extends DeepCheckContext {
  listener?: { port: number; tls: boolean };
}

/** The host the health request names: in no DataPlane's routes, so only a catch-all answers it. */
export const DEEP_CHECK_HOST = 'gatehouse-deep-check.invalid';

export class EnvoyDeepChecker {
  readonly readyPort: number;
  private readonly timeoutMs: number;
  private readonly healthRoute?: EnvoyHealthRoute;

  constructor(options: EnvoyDeepCheckerOptions = {}) {
    this.readyPort = options.readyPort ?? ports.envoyReady;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.healthRoute = options.healthRoute;
  }

  async check(ip: string, target?: EnvoyCheckContext): Promise<DeepCheckResult> {
    const deadline = Date.now() + this.timeoutMs;
    const ready = await get({ ip, port: this.readyPort, path: '/ready', tls: false, deadline });
    if ('error' in ready) return { ok: false, message: `ready: ${ready.error}` };
    if (ready.status !== 200) return { ok: false, message: `ready: ${ready.status} ${ready.body}`.trim() };
    const listener = target?.listener;
    if (!this.healthRoute || !listener) return { ok: true, message: `ready: 200 ${ready.body}`.trim() };
    const route = await get({
      ip,
      ...listener,
      path: this.healthRoute.path,
      deadline,
      // The name the listener's issued certificate carries; an SNI-selected filter chain knows it.
      servername: target ? `${workloadName(target.dataPlane, 'envoy')}.${target.namespace}.svc` : undefined,
    });
    const where = `${this.healthRoute.path} on port ${listener.port}`;
    if ('error' in route) return { ok: false, message: `${where}: ${route.error}` };
    if (route.status !== 200) return { ok: false, message: `${where}: ${route.status}` };
    return { ok: true, message: `ready: 200; ${where}: 200` };
  }
}

type Answer = { status: number; body: string } | { error: string };

/** One GET with a deadline; the body is read up to 64 bytes (a state name, "LIVE"). */
function get(o: {
  ip: string;
  port: number;
  path: string;
  tls: boolean;
  deadline: number;
  servername?: string;
}): Promise<Answer> {
  return new Promise((resolve) => {
    const timeoutMs = Math.max(1, o.deadline - Date.now());
    const request = (o.tls ? https : http).request(
      {
        host: o.ip,
        port: o.port,
        path: o.path,
        method: 'GET',
        headers: { host: DEEP_CHECK_HOST, [DEEP_CHECK_HEADER]: '1' },
        agent: false,
        ...(o.tls ? { rejectUnauthorized: false, ...(o.servername ? { servername: o.servername } : {}) } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 64) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 64).trim() }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on('error', (err) => resolve({ error: err.message }));
    request.on('close', () => clearTimeout(timer));
    request.end();
  });
}
