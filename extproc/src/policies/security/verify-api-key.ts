// VerifyAPIKey (docs/policies.md): the key must belong to an approved, unexpired credential of an
// approved app whose developer is active, and one of the app's approved products must cover this proxy,
// path suffix and method. Keys are looked up by keyed hash only; the key itself is never logged.
import type { App__Output } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Product__Output } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import { verifyAPIKey, type VerifyAPIKeyConfig } from '../../../../protos/policies/security/verify-api-key.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, RuntimeIndex } from '../../flow/types.ts';
import { VariableLayer } from '../../flow/variables.ts';
import { checkConfig } from '../support.ts';

function unauthorized(errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status: 401, errorCode, faultString });
}

/** The faults in the order Apigee checks for them (docs/policies.md, VerifyAPIKey); each is 401. */
const faults = {
  unresolved: () => unauthorized('oauth.v2.FailedToResolveAPIKey', 'Failed to resolve API Key variable'),
  unknown: () => unauthorized('oauth.v2.InvalidApiKey', 'Invalid ApiKey'),
  keyNotApproved: () => unauthorized('oauth.v2.ApiKeyNotApproved', 'ApiKey not approved'),
  expired: () => unauthorized('keymanagement.service.consumer_key_expired', 'The consumer key has expired'),
  appNotApproved: () =>
    unauthorized('keymanagement.service.invalid_client-app_not_approved', 'Invalid client: app not approved'),
  developerNotActive: () =>
    unauthorized('keymanagement.service.DeveloperStatusNotActive', 'Developer Status is not Active'),
  notForResource: () => unauthorized('oauth.v2.InvalidApiKeyForGivenResource', 'Invalid ApiKey for given resource'),
};

/** A product resource pattern as path segments; "**" matches any number of segments, "*" one. */
type ResourcePattern = string[];

/** "/a/b/" -> ["a", "b"]; "/" and "" (the base path itself) -> []. */
function segments(path: string): string[] {
  const start = path.startsWith('/') ? 1 : 0;
  const end = path.length > start && path.endsWith('/') ? path.length - 1 : path.length;
  return end <= start ? [] : path.slice(start, end).split('/');
}

function matchSegments(pattern: ResourcePattern, path: string[], p = 0, s = 0): boolean {
  for (; p < pattern.length; p++, s++) {
    if (pattern[p] === '**') {
      // Try every split: "**" is rare and patterns are short, so this stays small.
      for (let rest = s; rest <= path.length; rest++) if (matchSegments(pattern, path, p + 1, rest)) return true;
      return false;
    }
    if (s >= path.length || (pattern[p] !== '*' && pattern[p] !== path[s])) return false;
  }
  return s === path.length;
}

/** A product's resource patterns; `everything` when one of them is "/**" (the default), which matches any path. */
interface Resources {
  patterns: ResourcePattern[];
  everything: boolean;
}

/** Products are per snapshot: their compiled patterns are kept alongside them and go when they go. */
const compiledResources = new WeakMap<Product__Output, Resources>();

function resourcePatterns(product: Product__Output): Resources {
  let resources = compiledResources.get(product);
  if (!resources) {
    const patterns = (product.resources.length > 0 ? product.resources : ['/**']).map(segments);
    resources = { patterns, everything: patterns.some((p) => p.length === 1 && p[0] === '**') };
    compiledResources.set(product, resources);
  }
  return resources;
}

export function covers(product: Product__Output, ctx: PolicyContext): boolean {
  if (product.namespace !== ctx.proxy.namespace || !product.proxies.includes(ctx.proxy.name)) return false;
  if (product.methods.length > 0) {
    const method = ctx.request.method.toUpperCase();
    if (!product.methods.some((m) => m.toUpperCase() === method)) return false;
  }
  const { patterns, everything } = resourcePatterns(product);
  if (everything) return true;
  const path = segments(ctx.variables.getString('proxy.pathsuffix') ?? '');
  return patterns.some((pattern) => matchSegments(pattern, path));
}

function findCoveringProduct(app: App__Output, ctx: PolicyContext): Product__Output | undefined {
  for (const entry of app.products) {
    if (entry.status !== 'Approved') continue;
    const product = ctx.runtime.product(app.namespace, entry.name);
    if (product && covers(product, ctx)) return product;
  }
  return undefined;
}

/** Apigee writes entity statuses in lowercase: approved, revoked, active. */
const lower = (status: string) => status.toLowerCase();

/**
 * The variables Apigee's VerifyAPIKey sets (docs/policies.md lists them) that depend on the app, its
 * developer and the product only, in the order they are set: everything but client_id (the key itself),
 * status (always approved once the key passed) and expires_at (the credential's). Each is set as
 * verifyapikey.{policy}.{name} and, as Apigee's analytics variables are, unprefixed too. The consumer
 * secret is never set: the snapshot holds only its hash.
 */
function appVariables(runtime: RuntimeIndex, app: App__Output, product: Product__Output): Array<[string, string]> {
  const developer = app.developerRef === '' ? undefined : runtime.developer(app.namespace, app.developerRef);
  const values: Record<string, string> = {
    redirection_uris: app.callbackUrl,
    'developer.app.name': app.name,
    'developer.app.id': app.name,
    'developer.id': developer?.name ?? '',
    'developer.email': app.developerEmail,
    'developer.name': app.developerName,
    'developer.firstName': developer?.firstName ?? '',
    'developer.lastName': developer?.lastName ?? '',
    'developer.userName': developer?.userName ?? '',
    'developer.status': 'active',
    'app.name': app.name,
    'app.id': app.name,
    'app.status': lower(app.status),
    'app.callbackUrl': app.callbackUrl,
    'app.apiproducts': app.products
      .filter((p) => p.status === 'Approved')
      .map((p) => p.name)
      .join(','),
    'apiproduct.name': product.name,
  };
  for (const [name, value] of Object.entries(developer?.attributes ?? {})) values[`developer.${name}`] ??= value;
  for (const [name, value] of Object.entries(product.attributes)) values[`apiproduct.${name}`] ??= value;
  for (const [name, value] of Object.entries(app.attributes)) values[`app.${name}`] ??= value;
  if (product.quota && Number(product.quota.limit) > 0) {
    values['apiproduct.developer.quota.limit'] = String(product.quota.limit);
    values['apiproduct.developer.quota.interval'] = String(product.quota.interval);
    values['apiproduct.developer.quota.timeunit'] = product.quota.timeUnit;
  }
  return Object.entries(values);
}

/**
 * What a step sets for an (app, product) pair: the names above, each unprefixed then prefixed, then the
 * step's own scope and failed, as one frozen VariableLayer built on the pair's first request under a
 * snapshot and a policy name and handed to the flow variables as it is on every later one (no set() per
 * name; docs/architecture.md#the-policies-per-request-work-issue-20). Kept per RuntimeIndex (one per
 * snapshot load), so a changed app, developer or product is never served from an older snapshot's
 * layer, and bounded by the snapshot: at most one layer per app, product of the app and policy name.
 * No key is in it: client_id is set per request.
 */
const layerCache = new WeakMap<RuntimeIndex, WeakMap<App__Output, Map<Product__Output, Map<string, VariableLayer>>>>();

function variableLayerFor(
  runtime: RuntimeIndex,
  prefix: string,
  app: App__Output,
  product: Product__Output,
): VariableLayer {
  let byApp = layerCache.get(runtime);
  if (!byApp) layerCache.set(runtime, (byApp = new WeakMap()));
  let byProduct = byApp.get(app);
  if (!byProduct) byApp.set(app, (byProduct = new Map<Product__Output, Map<string, VariableLayer>>()));
  let byPolicy = byProduct.get(product);
  if (!byPolicy) byProduct.set(product, (byPolicy = new Map<string, VariableLayer>()));
  let layer = byPolicy.get(prefix);
  if (!layer) {
    const entries: Array<[string, string | boolean]> = [];
    for (const [name, value] of appVariables(runtime, app, product))
      entries.push([name, value], [`${prefix}.${name}`, value]);
    // Gatehouse's own: the key's scopes (its approved products'), space-separated as OAuth writes them.
    entries.push([`${prefix}.scope`, runtime.credentialScopes(app).join(' ')], [`${prefix}.failed`, false]);
    layer = new VariableLayer(entries);
    byPolicy.set(prefix, layer);
  }
  return layer;
}

export const verifyApiKeyPolicy: PolicyImplementation<VerifyAPIKeyConfig> = {
  type: 'VerifyAPIKey',
  create(config, meta) {
    checkConfig(verifyAPIKey, config, meta);
    const prefix = `verifyapikey.${meta.name}`;
    const names = { clientId: `${prefix}.client_id`, status: `${prefix}.status`, expiresAt: `${prefix}.expires_at` };
    const failedName = `${prefix}.failed`;
    const failed = (ctx: PolicyContext, fault: PolicyFault): PolicyFault => {
      ctx.variables.set(failedName, true);
      return fault;
    };
    return (ctx) => {
      const key = ctx.variables.resolve(config.apiKey);
      if (typeof key !== 'string' || key === '') throw failed(ctx, faults.unresolved());
      const found = ctx.runtime.findApiKey(key);
      if (!found) throw failed(ctx, faults.unknown());
      const { app, credential } = found;
      if (credential.status !== 'Approved') throw failed(ctx, faults.keyNotApproved());
      const expiresAt = Number(credential.expiresAt);
      if (expiresAt > 0 && expiresAt <= ctx.now()) throw failed(ctx, faults.expired());
      if (app.status !== 'Approved') throw failed(ctx, faults.appNotApproved());
      if (!ctx.runtime.developerActive(app)) throw failed(ctx, faults.developerNotActive());
      const product = findCoveringProduct(app, ctx);
      if (!product) throw failed(ctx, faults.notForResource());
      const { variables } = ctx;
      variables.set('client_id', key);
      variables.set(names.clientId, key);
      variables.set('status', 'approved');
      variables.set(names.status, 'approved');
      const expires = expiresAt > 0 ? String(expiresAt) : '-1';
      variables.set('expires_at', expires);
      variables.set(names.expiresAt, expires);
      variables.setLayer(variableLayerFor(ctx.runtime, prefix, app, product));
      return undefined;
    };
  },
};
