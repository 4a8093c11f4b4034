// <ServiceCallout> -> ServiceCallout (docs/policies.md#servicecallout). The request's operations are
// AssignMessage's (message-operations.ts); HTTPTargetConnection's URL, success.codes and
// connect.timeout.millis convert. Apigee keystores and truststores are environment objects with no
// counterpart in a bundle: they are reported, and the user names Secrets in sslInfo.keyStore and
// sslInfo.trustStore instead. A target server (<LoadBalancer><Server name>) becomes a Service of the
// namespace, as ApiProxy targets do (endpoints.ts), with <Path>; LocalTargetConnection is reported.
import { baseName } from '../names.ts';
import { fixedOrder, operationsOf } from './message-operations.ts';
import { bool, compact, int, type PolicyContext, type PolicyConverter } from './support.ts';
import type { XmlElement } from '../xml.ts';

/** The request's operations: the shorthand members when in Gatehouse's fixed order, else `operations`. */
function requestOperations(el: XmlElement, ctx: PolicyContext): Record<string, unknown> {
  const ops = operationsOf(el, ctx);
  const ranks = ops.map((o) => fixedOrder.indexOf(o.kind));
  const inFixedOrder = ranks.every(
    (r, i) => i === 0 || r > ranks[i - 1]! || (r === ranks[i - 1] && ops[i]!.kind === 'assignVariable'),
  );
  if (!inFixedOrder)
    return { operations: ops.map((o) => ({ [o.kind]: o.kind === 'assignVariable' ? [o.value] : o.value })) };
  const variables = ops.filter((o) => o.kind === 'assignVariable').map((o) => o.value);
  const one = (k: string) => ops.find((o) => o.kind === k)?.value;
  return compact({
    remove: one('remove'),
    copy: one('copy'),
    add: one('add'),
    set: one('set'),
    assignVariable: variables.length > 0 ? variables : undefined,
  });
}

function sslInfo(el: XmlElement | undefined, ctx: PolicyContext): Record<string, unknown> | undefined {
  if (!el) return undefined;
  for (const name of ['KeyStore', 'KeyAlias', 'TrustStore']) {
    const c = el.child(name);
    if (c)
      ctx.unsupported(
        c.xpath,
        `Apigee ${name} "${c.text}" is an environment object: put the PEM in a Secret and name it in sslInfo.${name === 'TrustStore' ? 'trustStore' : 'keyStore'}`,
      );
  }
  const clientAuth = el.child('ClientAuthEnabled');
  if (clientAuth && bool(clientAuth, ctx))
    ctx.unsupported(clientAuth.xpath, 'client authentication needs sslInfo.keyStore naming a Secret; left out');
  return compact({
    enabled: bool(el.child('Enabled'), ctx),
    ignoreValidationErrors: bool(el.child('IgnoreValidationErrors'), ctx),
  });
}

export const serviceCalloutConverter: PolicyConverter = {
  type: 'ServiceCallout',
  convert(el, ctx) {
    const local = el.child('LocalTargetConnection');
    if (local) ctx.unsupported(local.xpath, 'a call to another proxy of the environment has no counterpart');
    const target = el.child('HTTPTargetConnection');
    const lb = target?.child('LoadBalancer');
    const url = target?.childText('URL');
    if (target && !url && lb) return targetServerCallout(el, target, lb, ctx);
    const pathEl = target?.child('Path');
    if (pathEl) ctx.unsupported(pathEl.xpath, 'a Path goes with a LoadBalancer: write it in the URL');
    if (lb) ctx.unsupported(lb.xpath, 'a LoadBalancer next to a URL is ignored: the URL is called');
    if (!target || !url) {
      ctx.unsupported(target?.xpath ?? el.xpath, 'no HTTPTargetConnection URL (Apigee: URLMissing)');
      return undefined;
    }
    if (!/^https?:\/\//i.test(url)) {
      ctx.unsupported(`${target.xpath}/URL`, `"${url}" is not an http:// or https:// URL`);
      return undefined;
    }
    return calloutConfig(el, target, { url }, /^https:/i.test(url), ctx);
  },
};

/** <LoadBalancer><Server name="x"/></LoadBalancer> and <Path>: the Service x of the namespace. */
function targetServerCallout(el: XmlElement, target: XmlElement, lb: XmlElement, ctx: PolicyContext) {
  const servers = lb.all('Server');
  const first = servers[0]?.attr('name');
  if (!first) {
    ctx.unsupported(lb.xpath, 'a LoadBalancer without a Server name (Apigee: URLMissing)');
    return undefined;
  }
  const https = target.child('SSLInfo')?.childText('Enabled') === 'true';
  const port = https ? 443 : 80;
  ctx.unsupported(
    servers[0]!.xpath,
    `TargetServer ${first} must be created separately: a Service named ${baseName(first)} in the namespace, port ${port} assumed (check the port)`,
  );
  for (const s of servers.slice(1))
    ctx.unsupported(s.xpath, `TargetServer ${s.attr('name') ?? ''} left out: a callout calls one Service`);
  const text = target.childText('Path') || undefined;
  const path = text === undefined || text.startsWith('/') ? text : `/${text}`;
  const service = compact({ name: baseName(first), port, scheme: https ? 'https' : undefined });
  return calloutConfig(el, target, compact({ service, path }), https, ctx);
}

function calloutConfig(
  el: XmlElement,
  target: XmlElement,
  where: Record<string, unknown>,
  https: boolean,
  ctx: PolicyContext,
): Record<string, unknown> {
  let successCodes: string | undefined;
  let connectTimeout: number | undefined;
  const properties = target.child('Properties');
  for (const p of properties?.all('Property') ?? []) {
    const name = p.attr('name');
    if (name === 'success.codes') successCodes = p.text;
    else if (name === 'connect.timeout.millis') connectTimeout = int(p.text, p.xpath, ctx, { min: 1, max: 60_000 });
    else ctx.unsupported(p.xpath, `property ${name ?? ''} has no counterpart`);
  }
  const ssl = https ? sslInfo(target.child('SSLInfo'), ctx) : undefined;
  const requestEl = el.child('Request');
  let request: Record<string, unknown> | undefined;
  if (requestEl) {
    request = compact({
      variable: requestEl.attr('variable') || undefined,
      clearPayload:
        requestEl.attr('clearPayload') === undefined ? undefined : requestEl.attr('clearPayload') === 'true',
      ignoreUnresolvedVariables: bool(requestEl.child('IgnoreUnresolvedVariables'), ctx),
      ...requestOperations(requestEl, ctx),
    });
  }
  return compact({
    request: request && Object.keys(request).length > 0 ? request : undefined,
    response: el.childText('Response') || undefined,
    timeout: int(el.childText('Timeout'), `${el.xpath}/Timeout`, ctx, { min: 1, max: 60_000 }),
    httpTargetConnection: compact({
      ...where,
      sslInfo: ssl && Object.keys(ssl).length > 0 ? ssl : undefined,
      successCodes,
      connectTimeout,
    }),
  });
}
