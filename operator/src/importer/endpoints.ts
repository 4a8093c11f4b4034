// A ProxyEndpoint and the TargetEndpoint its route names become one ApiProxy spec. Gatehouse has one
// endpoint per proxy, so the two endpoints' flows are laid end to end in Apigee's order (request:
// proxy PreFlow, proxy Flow, proxy PostFlow, target PreFlow, target Flow, target PostFlow; response:
// target first, then proxy), around the one set of conditional flows Gatehouse has (docs/import.md).
import { ConditionSyntaxError, parseCondition } from '../compile/conditions.ts';
import { baseName, flowName } from './names.ts';
import type { XmlElement } from './xml.ts';

export interface Step {
  policy: string;
  condition?: string;
}

export interface PolicyRef {
  /** The ApiPolicy's name. */
  name: string;
  type: string;
  converted: boolean;
}

export interface EndpointContext {
  unsupported(file: string, xpath: string, reason: string): void;
  policies: ReadonlyMap<string, PolicyRef>;
  virtualHosts: Readonly<Record<string, readonly string[]>>;
  /** Steps dropped because their policy was not converted, for the ApiProxy's annotation. */
  skipped: string[];
}

export interface Endpoint {
  file: string;
  el: XmlElement;
}

interface FlowPair {
  request: Step[];
  response: Step[];
}

interface ConditionalFlow extends FlowPair {
  name: string;
  condition?: string;
}

const MAX_CONDITION = 1024;

/** The condition's text when the compiler parses it, else undefined (reported). */
export function condition(el: XmlElement | undefined, file: string, ctx: EndpointContext): string | undefined | null {
  if (!el) return undefined;
  const text = el.text.replace(/\s+/g, ' ').trim();
  if (text === '') return undefined;
  if (text.length > MAX_CONDITION) {
    ctx.unsupported(file, el.xpath, `the condition is longer than ${MAX_CONDITION} characters`);
    return null;
  }
  try {
    parseCondition(text);
    return text;
  } catch (err) {
    if (!(err instanceof ConditionSyntaxError)) throw err;
    ctx.unsupported(file, el.xpath, `the condition does not parse: ${err.message}`);
    return null;
  }
}

export function steps(parent: XmlElement | undefined, file: string, ctx: EndpointContext, where: string): Step[] {
  if (!parent) return [];
  return parent.all('Step').flatMap((s) => {
    s.child('Description')?.consume();
    const apigeeName = s.childText('Name');
    const policy = apigeeName === undefined ? undefined : ctx.policies.get(apigeeName);
    if (!apigeeName || !policy) {
      ctx.unsupported(file, s.xpath, `the step names no policy of this bundle (${apigeeName ?? 'no <Name>'})`);
      return [];
    }
    const cond = condition(s.child('Condition'), file, ctx);
    if (!policy.converted) {
      ctx.skipped.push(`${where}: ${apigeeName} (${policy.type})`);
      ctx.unsupported(file, s.xpath, `step skipped: policy ${apigeeName} (${policy.type}) was not converted`);
      return [];
    }
    if (cond === null) {
      ctx.skipped.push(`${where}: ${apigeeName} (condition)`);
      return [];
    }
    return [{ policy: policy.name, ...(cond === undefined ? {} : { condition: cond }) }];
  });
}

function pair(el: XmlElement | undefined, file: string, ctx: EndpointContext, where: string): FlowPair {
  el?.child('Description')?.consume();
  el?.ignore('name');
  return {
    request: steps(el?.child('Request'), file, ctx, `${where}.request`),
    response: steps(el?.child('Response'), file, ctx, `${where}.response`),
  };
}

function conditionalFlows(ep: Endpoint, ctx: EndpointContext): ConditionalFlow[] {
  const taken = new Set<string>();
  return (ep.el.child('Flows')?.all('Flow') ?? []).flatMap((f) => {
    const name = flowName(f.attr('name') ?? 'flow', taken);
    const cond = condition(f.child('Condition'), ep.file, ctx);
    if (cond === null) {
      f.consume();
      ctx.skipped.push(`flow ${f.attrs['name'] ?? name} (condition)`);
      return [];
    }
    return [{ name, ...(cond === undefined ? {} : { condition: cond }), ...pair(f, ep.file, ctx, `flow ${name}`) }];
  });
}

interface EndpointFlows {
  pre: FlowPair;
  flows: ConditionalFlow[];
  post: FlowPair;
}

function endpointFlows(ep: Endpoint, ctx: EndpointContext, label: string): EndpointFlows {
  return {
    pre: pair(ep.el.child('PreFlow'), ep.file, ctx, `${label} PreFlow`),
    flows: conditionalFlows(ep, ctx),
    post: pair(ep.el.child('PostFlow'), ep.file, ctx, `${label} PostFlow`),
  };
}

/** Lays the two endpoints' flows end to end around one set of conditional flows. */
function mergeFlows(
  proxy: EndpointFlows,
  target: EndpointFlows | undefined,
  targetFile: string | undefined,
  ctx: EndpointContext,
) {
  const t = target ?? { pre: { request: [], response: [] }, flows: [], post: { request: [], response: [] } };
  // Which endpoint's conditional flows Gatehouse keeps: the proxy's, or the target's when the proxy has none.
  const useTarget = proxy.flows.length === 0 && t.flows.length > 0;
  if (!useTarget && t.flows.length > 0 && targetFile)
    ctx.unsupported(
      targetFile,
      '/TargetEndpoint/Flows',
      "Gatehouse has one set of conditional flows and keeps the ProxyEndpoint's: the TargetEndpoint's flows are dropped",
    );
  const request = [proxy.pre.request, 'P', proxy.post.request, t.pre.request, 'T', t.post.request] as const;
  const response = [t.pre.response, 'T', t.post.response, proxy.pre.response, 'P', proxy.post.response] as const;
  const split = (seq: readonly (Step[] | 'P' | 'T')[]) => {
    const at = seq.indexOf(useTarget ? 'T' : 'P');
    const before = seq
      .slice(0, at)
      .filter((s): s is Step[] => Array.isArray(s))
      .flat();
    const after = seq
      .slice(at + 1)
      .filter((s): s is Step[] => Array.isArray(s))
      .flat();
    return [before, after] as const;
  };
  const [preRequest, postRequest] = split(request);
  const [preResponse, postResponse] = split(response);
  const flows = useTarget ? t.flows : proxy.flows;
  const listed = (s: Step[]) => (s.length > 0 ? s : undefined);
  const flowsSpec = compactObj({
    preFlow: pairSpec(preRequest, preResponse),
    conditionalFlows:
      flows.length > 0
        ? flows.map((f) =>
            compactObj({
              name: f.name,
              condition: f.condition,
              request: listed(f.request),
              response: listed(f.response),
            }),
          )
        : undefined,
    postFlow: pairSpec(postRequest, postResponse),
  });
  return flowsSpec;
}

function pairSpec(request: Step[], response: Step[]) {
  if (request.length === 0 && response.length === 0) return undefined;
  return compactObj({
    request: request.length > 0 ? request : undefined,
    response: response.length > 0 ? response : undefined,
  });
}

function compactObj<T extends Record<string, unknown>>(o: T): T | undefined {
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return Object.keys(out).length > 0 ? out : undefined;
}

function faultRules(ep: Endpoint, ctx: EndpointContext, label: string, taken: Set<string>) {
  const rules = (ep.el.child('FaultRules')?.all('FaultRule') ?? []).flatMap((r) => {
    const cond = condition(r.child('Condition'), ep.file, ctx);
    if (cond === null) return [];
    const name = flowName(r.attr('name') ?? 'fault-rule', taken);
    return [
      compactObj({
        name,
        condition: cond,
        steps: steps(r, ep.file, ctx, `${label} fault rule ${name}`),
      })!,
    ];
  });
  return rules;
}

function defaultFaultRule(ep: Endpoint, ctx: EndpointContext, label: string) {
  const d = ep.el.child('DefaultFaultRule');
  if (!d) return undefined;
  d.ignore('name');
  const cond = d.child('Condition');
  if (cond && cond.text !== '')
    ctx.unsupported(ep.file, cond.xpath, 'a condition on the default fault rule has no counterpart');
  const always = d.childText('AlwaysEnforce');
  const s = steps(d, ep.file, ctx, `${label} DefaultFaultRule`);
  return compactObj({
    steps: s.length > 0 ? s : undefined,
    alwaysEnforce: always === undefined ? undefined : always === 'true',
  });
}

/** The base path Gatehouse accepts: leading /, no trailing /, no wildcards. */
function basePath(ep: Endpoint, ctx: EndpointContext): string {
  const el = ep.el.child('HTTPProxyConnection')?.child('BasePath');
  let p = el?.text ?? '/';
  if (p.includes('*') || p.includes('{')) {
    ctx.unsupported(
      ep.file,
      el!.xpath,
      `wildcards in the base path "${p}" have no counterpart: the fixed part is served`,
    );
    p = p.split(/[*{]/)[0]!;
  }
  p = `/${p}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return p === '' ? '/' : p;
}

function hosts(ep: Endpoint, ctx: EndpointContext): string[] | undefined {
  const conn = ep.el.child('HTTPProxyConnection');
  const out: string[] = [];
  for (const vh of conn?.all('VirtualHost') ?? []) {
    const mapped = ctx.virtualHosts[vh.text];
    if (mapped) out.push(...mapped);
    else
      ctx.unsupported(
        ep.file,
        vh.xpath,
        `virtual host ${vh.text}: Gatehouse matches host names; give --virtual-host ${vh.text}=HOST to keep it (the proxy serves every host)`,
      );
  }
  for (const p of conn?.child('Properties')?.all('Property') ?? [])
    ctx.unsupported(ep.file, p.consume().xpath, `property ${p.attrs['name'] ?? ''} has no counterpart`);
  conn?.child('Properties');
  return out.length > 0 ? [...new Set(out)].sort() : undefined;
}

const URL_PATTERN = /^https?:\/\/[^/?#\s]+(\/[^\s]*)?$/;

/** A Service standing for something Gatehouse cannot reach by itself (a TargetServer, a null route). */
const placeholderService = (name: string, port: number) => ({ service: { name: baseName(name), port } });

function protocolVersion(p: string): string | undefined {
  const m = /^TLSv1(\.[0-3])?$/.exec(p);
  return m ? (p === 'TLSv1' ? 'TLSv1.0' : p) : undefined;
}

function target(ep: Endpoint | undefined, directUrl: string | undefined, proxyName: string, ctx: EndpointContext) {
  if (directUrl !== undefined) return { url: directUrl };
  if (!ep) return placeholderService(`${proxyName}-target`, 80);
  const { file, el } = ep;
  const local = el.child('LocalTargetConnection');
  if (local) {
    local.consume();
    ctx.unsupported(
      file,
      local.xpath,
      `proxy chaining has no counterpart: the target is a placeholder Service ${baseName(`${proxyName}-target`)}`,
    );
    return placeholderService(`${proxyName}-target`, 80);
  }
  const script = el.child('ScriptTarget') ?? el.child('HostedTarget');
  if (script) {
    script.consume();
    ctx.unsupported(
      file,
      script.xpath,
      `a Node.js (${script.name}) target has no counterpart: the target is a placeholder Service ${baseName(`${proxyName}-target`)}`,
    );
    return placeholderService(`${proxyName}-target`, 80);
  }
  const conn = el.child('HTTPTargetConnection');
  if (!conn) {
    ctx.unsupported(
      file,
      el.xpath,
      `no HTTPTargetConnection: the target is a placeholder Service ${baseName(`${proxyName}-target`)}`,
    );
    return placeholderService(`${proxyName}-target`, 80);
  }
  const spec: Record<string, unknown> = {};
  const ssl = conn.child('SSLInfo');
  const sslEnabled = ssl?.childText('Enabled') === 'true';
  const urlEl = conn.child('URL');
  const lb = conn.child('LoadBalancer');
  if (urlEl && URL_PATTERN.test(urlEl.text) && !urlEl.text.includes('{')) {
    spec['url'] = urlEl.text.replace(/\/$/, '');
  } else if (lb) {
    const servers = lb.all('Server').map((s) => s.attr('name') ?? '');
    const port = sslEnabled ? 443 : 80;
    for (const s of lb.all('Server')) {
      s.ignore('name');
      ctx.unsupported(
        file,
        s.xpath,
        `TargetServer ${s.attrs['name'] ?? ''} must be created separately: a Service named ${baseName(s.attrs['name'] ?? '')} with its host, port ${port} assumed`,
      );
    }
    if (servers.length === 1) spec['service'] = placeholderService(servers[0]!, port).service;
    else if (servers.length > 1) {
      spec['targets'] = servers.map((s) => placeholderService(s, port));
      const alg = lb.child('Algorithm');
      if (alg && alg.text !== '') {
        const algorithm = { RoundRobin: 'RoundRobin', LeastConnections: 'LeastRequest' }[alg.text];
        if (algorithm) spec['loadBalancer'] = { algorithm };
        else
          ctx.unsupported(
            file,
            alg.xpath,
            `load-balancing algorithm ${alg.text} has no counterpart (RoundRobin is used)`,
          );
      }
    } else Object.assign(spec, placeholderService(`${proxyName}-target`, port));
    const path = conn.child('Path');
    if (path && path.text !== '')
      ctx.unsupported(file, path.xpath, 'a path in front of TargetServer requests has no counterpart for Services');
  } else {
    if (urlEl)
      ctx.unsupported(
        file,
        urlEl.xpath,
        `the URL "${urlEl.text}" is not a fixed http(s) URL: the target is a placeholder Service`,
      );
    Object.assign(spec, placeholderService(`${proxyName}-target`, sslEnabled ? 443 : 80));
  }
  for (const p of conn.child('Properties')?.all('Property') ?? []) {
    const name = p.attr('name');
    if (name === 'io.timeout.millis' && /^\d+$/.test(p.text)) spec['timeout'] = `${p.text}ms`;
    else ctx.unsupported(file, p.xpath, `property ${name ?? ''} has no counterpart`);
  }
  if (ssl) {
    ssl.child('Enabled');
    ssl.child('Enforce')?.consume();
    const tls: Record<string, unknown> = {};
    const versions = (ssl.child('Protocols')?.all('Protocol') ?? [])
      .map((p) => protocolVersion(p.text))
      .filter((v) => v !== undefined)
      .sort();
    if (versions.length > 0) {
      tls['minVersion'] = versions[0];
      tls['maxVersion'] = versions[versions.length - 1];
    }
    const cn = ssl.child('CommonName');
    if (cn && cn.text !== '') {
      cn.ignore('wildcardMatch');
      tls['sni'] = cn.text;
    }
    for (const name of ['KeyStore', 'KeyAlias', 'ClientAuthEnabled'])
      if (ssl.child(name) && ssl.childText(name) && ssl.childText(name) !== 'false')
        ctx.unsupported(
          file,
          `${ssl.xpath}/${name}`,
          'a client certificate: create a Secret (tls.crt, tls.key) and set target.tls.clientCertSecretRef',
        );
    const trust = ssl.child('TrustStore');
    if (trust && trust.text !== '')
      ctx.unsupported(file, trust.xpath, 'a trust store: create a Secret with ca.crt and set target.tls.caSecretRef');
    const ignore = ssl.child('IgnoreValidationErrors');
    if (ignore && ignore.text === 'true')
      ctx.unsupported(file, ignore.xpath, 'Gatehouse always verifies the upstream certificate');
    const ciphers = ssl.child('Ciphers');
    if (ciphers && ciphers.children.length > 0)
      ctx.unsupported(file, ciphers.xpath, 'upstream cipher lists have no counterpart');
    const https = typeof spec['url'] === 'string' ? spec['url'].startsWith('https://') : true;
    if (sslEnabled && !https)
      ctx.unsupported(file, `${ssl.xpath}/Enabled`, 'TLS to an http:// URL: write the URL as https://');
    if (sslEnabled && https && (Object.keys(tls).length > 0 || spec['url'] === undefined)) spec['tls'] = tls;
  }
  return spec;
}

export interface ProxyEndpointResult {
  spec: Record<string, unknown>;
  /** The TargetEndpoint the route names, when the bundle has it. */
  targetEndpoint?: string;
}

/** The ApiProxy spec for one ProxyEndpoint. */
export function convertProxyEndpoint(
  proxyName: string,
  proxy: Endpoint,
  targets: ReadonlyMap<string, Endpoint>,
  ctx: EndpointContext,
): ProxyEndpointResult {
  const { el, file } = proxy;
  el.ignore('name');
  el.child('Description')?.consume();
  const path = basePath(proxy, ctx);
  const hostList = hosts(proxy, ctx);

  // Route: the first RouteRule without a condition is Apigee's default; conditional routes are reported.
  const rules = el.all('RouteRule');
  let chosen: XmlElement | undefined = rules.find(
    (r) => !r.children.some((c) => c.name === 'Condition' && c.text !== ''),
  );
  for (const r of rules) {
    r.ignore('name');
    const c = r.child('Condition');
    if (r !== chosen && rules.length > 1) {
      ctx.unsupported(file, r.xpath, 'conditional routing has no counterpart: only the default RouteRule is converted');
      r.consume();
    } else if (c && c.text !== '' && r === chosen) c.consume();
  }
  if (!chosen && rules.length > 0) {
    chosen = rules[0];
    chosen!.child('Condition')?.consume();
  }
  const targetName = chosen?.childText('TargetEndpoint');
  const directUrl = chosen?.childText('URL');
  let targetEp: Endpoint | undefined;
  if (targetName) {
    targetEp = targets.get(targetName);
    if (!targetEp)
      ctx.unsupported(file, `${chosen!.xpath}/TargetEndpoint`, `no TargetEndpoint named ${targetName} in the bundle`);
  } else if (!directUrl) {
    ctx.unsupported(
      file,
      chosen?.xpath ?? el.xpath,
      `no route to a target (a null route): Gatehouse always forwards; the target is a placeholder Service ${baseName(`${proxyName}-target`)}`,
    );
  }
  let direct: string | undefined;
  if (directUrl !== undefined) {
    if (URL_PATTERN.test(directUrl) && !directUrl.includes('{')) direct = directUrl.replace(/\/$/, '');
    else ctx.unsupported(file, `${chosen!.xpath}/URL`, `the URL "${directUrl}" is not a fixed http(s) URL`);
  }
  targetEp?.el.ignore('name');
  targetEp?.el.child('Description')?.consume();
  const targetSpec = target(targetEp, direct, proxyName, ctx);

  const proxyFlows = endpointFlows(proxy, ctx, 'ProxyEndpoint');
  const targetFlows = targetEp ? endpointFlows(targetEp, ctx, 'TargetEndpoint') : undefined;
  const flows = mergeFlows(proxyFlows, targetFlows, targetEp?.file, ctx);
  const postClient = el.child('PostClientFlow');
  let postClientFlow;
  if (postClient) {
    const pc = pair(postClient, file, ctx, 'PostClientFlow');
    postClient.ignore('name');
    if (pc.request.length > 0)
      ctx.unsupported(file, `${postClient.xpath}/Request`, 'PostClientFlow runs on the response only');
    if (pc.response.length > 0) postClientFlow = { response: pc.response };
  }

  // Fault rules: Apigee runs the ProxyEndpoint's last matching rule (they are tried bottom to top) and
  // the TargetEndpoint's first; Gatehouse runs the first match of one list.
  const taken = new Set<string>();
  const proxyRules = faultRules(proxy, ctx, 'ProxyEndpoint', taken).reverse();
  const targetRules = targetEp ? faultRules(targetEp, ctx, 'TargetEndpoint', taken) : [];
  if (proxyRules.length > 0 && targetRules.length > 0)
    ctx.unsupported(
      targetEp!.file,
      '/TargetEndpoint/FaultRules',
      "Gatehouse has one list of fault rules: the TargetEndpoint's are tried after the ProxyEndpoint's, for faults raised anywhere",
    );
  let dfr = defaultFaultRule(proxy, ctx, 'ProxyEndpoint');
  const targetDfr = targetEp ? defaultFaultRule(targetEp, ctx, 'TargetEndpoint') : undefined;
  if (dfr && targetDfr)
    ctx.unsupported(
      targetEp!.file,
      '/TargetEndpoint/DefaultFaultRule',
      "the ProxyEndpoint's default fault rule is kept",
    );
  dfr ??= targetDfr;

  const allFlows = compactObj({ ...(flows ?? {}), postClientFlow });
  const rulesList = [...proxyRules, ...targetRules];
  const spec = compactObj({
    basePath: path,
    hosts: hostList,
    target: targetSpec,
    flows: allFlows,
    faultRules: rulesList.length > 0 ? rulesList : undefined,
    defaultFaultRule: dfr,
  })!;
  return targetEp ? { spec, targetEndpoint: targetName! } : { spec };
}
