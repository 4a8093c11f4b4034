// A RouteConfiguration per listener, named after it, holding the proxies the listener admits
// (attach.ts): a virtual host per distinct host (plus "*"), a route per proxy base path with
// path-segment matching, the rewrite stripBasePath and the target path ask for, and the per-route
// ext_proc override.
import type {
  Route,
  RouteAction,
  RouteConfiguration,
  VirtualHost,
} from '../../../../protos/gen/json/envoy.config.route.v3.ts';
import type { RegexMatchAndSubstitute } from '../../../../protos/gen/json/envoy.type.matcher.v3.ts';
import type { IrAttachment, IrProxy } from '../ir.ts';
import { protoDuration } from '../durations.ts';
import { extProcPerRoute } from './ext-proc.ts';
import { envoyHealthPath } from '../../api/names.ts';
import { extProcFilterName, typeUrls } from './names.ts';
import { within } from '../attach.ts';

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/** Envoy regex_rewrite for the forwarded path, or undefined when it is forwarded as is. */
function rewrite(p: IrProxy): RegexMatchAndSubstitute | undefined {
  const strip = p.stripBasePath && p.basePath !== '/';
  const target = p.targetPathPrefix;
  if (strip && target === '') return { pattern: { regex: `^${escapeRegex(p.basePath)}/?` }, substitution: '/' };
  if (strip) return { pattern: { regex: `^${escapeRegex(p.basePath)}(/.*)?$` }, substitution: `${target}\\1` };
  if (target !== '') return { pattern: { regex: '^(.*)$' }, substitution: `${target}\\1` };
  return undefined;
}

function route(p: IrProxy): Route {
  const regexRewrite = rewrite(p);
  return {
    name: `${p.namespace}/${p.name}`,
    // path_separated_prefix matches /base and /base/..., never /basement.
    match: p.basePath === '/' ? { prefix: '/' } : { path_separated_prefix: p.basePath },
    route: {
      cluster: p.cluster.name,
      timeout: protoDuration(p.timeoutMs),
      ...(regexRewrite ? ({ regex_rewrite: regexRewrite } satisfies RouteAction) : {}),
    },
    typed_per_filter_config: { [extProcFilterName]: extProcPerRoute(p) },
  };
}

const segments = (path: string) => (path === '/' ? 0 : path.split('/').length - 1);

/** Longest base path first; on a tie a host-specific proxy before an any-host one. */
function routeOrder(a: IrAttachment, b: IrAttachment): number {
  return (
    segments(b.proxy.basePath) - segments(a.proxy.basePath) ||
    b.proxy.basePath.length - a.proxy.basePath.length ||
    Number(b.hosts.length > 0) - Number(a.hosts.length > 0) ||
    (`${a.proxy.namespace}/${a.proxy.name}` < `${b.proxy.namespace}/${b.proxy.name}` ? -1 : 1)
  );
}

function domains(host: string): string[] {
  return host.includes(':') || host.startsWith('*') ? [host] : [host, `${host}:*`];
}

/**
 * Answered by Envoy itself, before any proxy's route and on every host: never extproc, never an
 * upstream. The operator's deep check of Envoy pods asks it through a listener
 * (remediation/envoy-deep-check.ts), so an upstream outage never looks like a broken Envoy.
 */
export const healthRoute: Route = {
  name: 'gatehouse-health',
  match: { path: envoyHealthPath },
  direct_response: { status: 200, body: { inline_string: 'ok' } },
  typed_per_filter_config: { [extProcFilterName]: { '@type': typeUrls.extProcPerRoute, disabled: true } },
};

/** The RouteConfiguration `name` (a listener's) serving `attached` on the hosts each is attached with. */
export function emitRouteConfiguration(name: string, attached: readonly IrAttachment[]): RouteConfiguration {
  const anyHost = attached.filter((a) => a.hosts.length === 0);
  const hosts = [...new Set(attached.flatMap((a) => a.hosts))].sort();
  // Envoy picks one virtual host per request, the most specific, so each named host also carries the
  // routes of the wildcards that cover it and the any-host routes.
  const covers = (a: IrAttachment, host: string) =>
    a.hosts.some((h) => h === host || (h.startsWith('*.') && within(host, h)));
  const virtualHosts = hosts.map((host): VirtualHost => ({
    name: host,
    domains: domains(host),
    routes: [
      healthRoute,
      ...attached
        .filter((a) => covers(a, host))
        .concat(anyHost)
        .sort(routeOrder)
        .map((a) => route(a.proxy)),
    ],
  }));
  // Always a catch-all: the health route answers on any host.
  virtualHosts.push({
    name: '*',
    domains: ['*'],
    routes: [healthRoute, ...[...anyHost].sort(routeOrder).map((a) => route(a.proxy))],
  });
  return { name, virtual_hosts: virtualHosts };
}
