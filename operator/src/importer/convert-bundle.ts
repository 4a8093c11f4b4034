// One bundle to Gatehouse objects: every policy XML of a supported type to an ApiPolicy, every
// ProxyEndpoint (with the TargetEndpoint its route names) to an ApiProxy, and a list of everything
// that did not convert (file relative to the bundle, XPath, reason). Pure: files in, objects out.
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { convertProxyEndpoint, steps, type Endpoint, type EndpointContext, type PolicyRef } from './endpoints.ts';
import { deriveNames } from './names.ts';
import { converterFor, gatehouseTypeOf, unsupportedReason } from './policies/index.ts';
import { readResource } from './resources.ts';
import type { BundleFiles } from './source.ts';
import { parseXml, type XmlElement } from './xml.ts';

export const API_VERSION = 'gatehouse.dev/v1alpha1';
export const ANNOTATION = {
  name: 'gatehouse.dev/apigee-name',
  displayName: 'gatehouse.dev/apigee-display-name',
  source: 'gatehouse.dev/apigee-source',
  skippedSteps: 'gatehouse.dev/apigee-skipped-steps',
} as const;

export interface Unsupported {
  file: string;
  xpath: string;
  reason: string;
}

export interface PolicyOutcome {
  type: string;
  /** The Apigee name. */
  name: string;
  file: string;
  converted: boolean;
}

export interface ImportedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface ConvertedBundle {
  kind: BundleFiles['kind'];
  /** The proxy's name (the APIProxy descriptor's, else the bundle's). */
  name: string;
  objects: ImportedObject[];
  unsupported: Unsupported[];
  policies: PolicyOutcome[];
}

export interface ConvertOptions {
  namespace?: string;
  /** Apigee virtual host name -> host names. */
  virtualHosts?: Readonly<Record<string, readonly string[]>>;
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Parses every XML file of the bundle first: one that does not parse stops the bundle (ImportXmlError). */
function parseAll(bundle: BundleFiles): Map<string, XmlElement> {
  const parsed = new Map<string, XmlElement>();
  for (const [path, bytes] of [...bundle.files].sort(([a], [b]) => byPath(a, b)))
    if (path.toLowerCase().endsWith('.xml') && !path.includes('/resources/')) parsed.set(path, parseXml(path, bytes));
  return parsed;
}

function resourceReason(path: string): string {
  const folder = path.split('/')[2] ?? '';
  if (folder === 'java')
    return 'a Java resource is not carried over: recompile it against gatehouse-callout-api for the Java callout host (docs/policies.md#javacallout)';
  if (['xsl', 'xsd', 'wsdl', 'jsc', 'py'].includes(folder))
    return `no converted policy names this ${folder} resource: it is not converted (a policy that names it puts it inline)`;
  return `resources (${folder}) are not converted: no supported policy uses them yet`;
}

export function convertBundle(bundle: BundleFiles, bundleName: string, options: ConvertOptions = {}): ConvertedBundle {
  const root = bundle.kind;
  const parsed = parseAll(bundle);
  const unsupported: Unsupported[] = [];
  const report = (file: string, xpath: string, reason: string) => unsupported.push({ file, xpath, reason });
  const inFolder = (folder: string) =>
    [...parsed].filter(([p]) => p.startsWith(`${root}/${folder}/`) && p.split('/').length === 3);

  // The descriptor (apiproxy/NAME.xml) names the proxy; everything else in it is derived information.
  const descriptor = [...parsed].find(([p]) => p.split('/').length === 2);
  const proxyName = descriptor?.[1].attrs['name'] ?? bundleName;
  descriptor?.[1].consume();

  // Policies: names first (a ResetQuota names a Quota), then each converts on its own.
  const policyEls = inFolder('policies').map(([file, el]) => ({
    file,
    el,
    apigeeName: el.attrs['name'] ?? file.split('/')[2]!.replace(/\.xml$/i, ''),
  }));
  const k8sNames = deriveNames(policyEls.map((p) => p.apigeeName));
  const policies: PolicyOutcome[] = [];
  const refs = new Map<string, PolicyRef>();
  const objects: ImportedObject[] = [];
  const policyObjects: ImportedObject[] = [];
  const usedResources = new Set<string>();
  for (const { file, el, apigeeName } of policyEls) {
    const name = k8sNames.get(apigeeName)!;
    const type = el.name;
    const converter = converterFor(type);
    let config: Record<string, unknown> | undefined;
    const gatehouseType = converter ? gatehouseTypeOf(converter) : type;
    const spec: Record<string, unknown> = { type: gatehouseType };
    if (!converter) {
      report(file, `/${type}`, unsupportedReason(type));
    } else {
      el.ignore('name');
      el.child('DisplayName');
      el.child('Description');
      const async = el.attr('async');
      if (async === 'true') report(file, `/${type}/@async`, 'async has no counterpart');
      const enabled = el.attr('enabled');
      const continueOnError = el.attr('continueOnError');
      if (continueOnError === 'true') spec['continueOnError'] = true;
      if (enabled === 'false') spec['enabled'] = false;
      // Policy-wide <Properties> have no counterpart, except for a converter that takes them (JavaScript, Script, JavaCallout).
      if (!converter.readsProperties) {
        const props = el.child('Properties');
        for (const p of props?.all('Property') ?? [])
          report(file, p.consume().xpath, `property ${p.attrs['name'] ?? ''} has no counterpart`);
      }
      config = converter.convert(el, {
        file,
        unsupported: (xpath, reason) => report(file, xpath, reason),
        policyName: (n) => k8sNames.get(n),
        resource: (url, xpath) => {
          const read = readResource(bundle, url, converter.resourceSchemes ?? []);
          if (read.path) usedResources.add(read.path);
          if ('problem' in read) {
            report(file, xpath, read.problem);
            return undefined;
          }
          return read.text;
        },
      });
      // A policy that did not convert has said why; what it left unread is beside the point.
      if (config !== undefined)
        for (const u of el.unread()) report(file, u.xpath, `${u.what} has no counterpart in Gatehouse's ${type}`);
    }
    const converted = config !== undefined;
    policies.push({ type, name: apigeeName, file, converted });
    refs.set(apigeeName, { name, type, converted });
    if (!converted) continue;
    const member = policyTypesByName.get(gatehouseType)!.member;
    spec[member] = config;
    policyObjects.push(object('ApiPolicy', name, options.namespace, annotations(apigeeName, name, el, file), spec));
  }

  // Resources a policy read are inline in it; every other resource is reported.
  for (const path of [...bundle.files.keys()].sort(byPath))
    if (path.startsWith(`${root}/resources/`) && !path.endsWith('/') && !usedResources.has(path))
      report(path, '/', resourceReason(path));

  if (bundle.kind === 'sharedflowbundle') {
    // A FlowCallout runs the bundle's sharedflows/default.xml; its other flows are reachable from nothing.
    const flows = inFolder('sharedflows');
    for (const [file] of flows)
      if (file !== `${root}/sharedflows/default.xml`)
        report(file, '/SharedFlow', 'only sharedflows/default.xml runs when the bundle is called: not converted');
    const main = parsed.get(`${root}/sharedflows/default.xml`);
    if (!main) report(root, '/', 'no sharedflows/default.xml: no SharedFlow is written');
    else {
      main.ignore('name');
      main.child('Description')?.consume();
      const ctx: EndpointContext = { unsupported: report, policies: refs, virtualHosts: {}, skipped: [] };
      const file = `${root}/sharedflows/default.xml`;
      const name = deriveNames([proxyName]).get(proxyName)!;
      const ann = annotations(proxyName, name, undefined, file);
      const flowSteps = steps(main, file, ctx, 'SharedFlow');
      if (ctx.skipped.length > 0) ann[ANNOTATION.skippedSteps] = ctx.skipped.join('; ');
      for (const u of main.unread()) report(file, u.xpath, `${u.what} has no counterpart`);
      objects.push(object('SharedFlow', name, options.namespace, ann, { steps: flowSteps }));
    }
    return {
      kind: bundle.kind,
      name: proxyName,
      objects: [...objects, ...policyObjects],
      unsupported: dedupe(unsupported),
      policies,
    };
  }

  const targets = new Map<string, Endpoint>(
    inFolder('targets').map(([file, el]) => [
      el.attrs['name'] ?? file.split('/')[2]!.replace(/\.xml$/i, ''),
      { file, el },
    ]),
  );
  const proxies = inFolder('proxies').map(([file, el]) => ({ file, el }));
  if (proxies.length === 0) report(root, `/`, 'no ProxyEndpoint (apiproxy/proxies/*.xml): no ApiProxy is written');
  const proxyNames = deriveNames(
    proxies.map((p) => (proxies.length === 1 ? proxyName : `${proxyName}-${p.el.attrs['name'] ?? p.file}`)),
  );
  const routed = new Set<string>();
  for (const p of proxies) {
    const apigeeName = proxies.length === 1 ? proxyName : `${proxyName}-${p.el.attrs['name'] ?? p.file}`;
    const ctx: EndpointContext = {
      unsupported: report,
      policies: refs,
      virtualHosts: options.virtualHosts ?? {},
      skipped: [],
    };
    const { spec, targetEndpoint } = convertProxyEndpoint(apigeeName, p, targets, ctx);
    if (targetEndpoint) routed.add(targetEndpoint);
    const ann = annotations(apigeeName, proxyNames.get(apigeeName)!, undefined, p.file);
    if (ctx.skipped.length > 0) ann[ANNOTATION.skippedSteps] = ctx.skipped.join('; ');
    objects.push(object('ApiProxy', proxyNames.get(apigeeName)!, options.namespace, ann, spec));
  }
  for (const p of proxies) for (const u of p.el.unread()) report(p.file, u.xpath, `${u.what} has no counterpart`);
  for (const [n, t] of targets) {
    if (!routed.has(n)) report(t.file, t.el.xpath, `no ProxyEndpoint routes to TargetEndpoint ${n}: not converted`);
    else for (const u of t.el.unread()) report(t.file, u.xpath, `${u.what} has no counterpart`);
  }
  return {
    kind: bundle.kind,
    name: proxyName,
    objects: [...objects, ...policyObjects],
    unsupported: dedupe(unsupported),
    policies,
  };
}

function annotations(
  apigeeName: string,
  name: string,
  el: XmlElement | undefined,
  file: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (apigeeName !== name) out[ANNOTATION.name] = apigeeName;
  const display = el?.children.find((c) => c.name === 'DisplayName')?.rawText.trim();
  if (display && display !== apigeeName) out[ANNOTATION.displayName] = display;
  out[ANNOTATION.source] = file;
  return out;
}

function object(
  kind: string,
  name: string,
  namespace: string | undefined,
  annotations: Record<string, string>,
  spec: Record<string, unknown>,
): ImportedObject {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), annotations },
    spec,
  };
}

/** Without repeats, by file (each file's entries in the order they were found). */
function dedupe(list: Unsupported[]): Unsupported[] {
  const seen = new Set<string>();
  return list
    .filter((u) => {
      const k = `${u.file}\0${u.xpath}\0${u.reason}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => byPath(a.file, b.file));
}
