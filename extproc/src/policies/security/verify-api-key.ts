// VerifyAPIKey (docs/policies.md): the key must belong to an approved, unexpired credential of an
// approved app whose developer is active, and one of the app's approved products must cover this proxy,
// path suffix and method. Keys are looked up by keyed hash only; the key itself is never logged.
import type { App__Output } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Product__Output } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import { verifyAPIKey, type VerifyAPIKeyConfig } from '../../../../protos/policies/security/verify-api-key.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
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
  const trimmed = path.replace(/^\/|\/$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
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

/** Products are per snapshot: their compiled patterns are kept alongside them and go when they go. */
const compiledResources = new WeakMap<Product__Output, ResourcePattern[]>();

function resourcePatterns(product: Product__Output): ResourcePattern[] {
  let patterns = compiledResources.get(product);
  if (!patterns) {
    patterns = (product.resources.length > 0 ? product.resources : ['/**']).map(segments);
    compiledResources.set(product, patterns);
  }
  return patterns;
}

export function covers(product: Product__Output, ctx: PolicyContext): boolean {
  if (product.namespace !== ctx.proxy.namespace || !product.proxies.includes(ctx.proxy.name)) return false;
  const method = ctx.request.method.toUpperCase();
  if (product.methods.length > 0 && !product.methods.some((m) => m.toUpperCase() === method)) return false;
  const path = segments(ctx.variables.getString('proxy.pathsuffix') ?? '');
  return resourcePatterns(product).some((pattern) => matchSegments(pattern, path));
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
 * The variables Apigee's VerifyAPIKey sets (docs/policies.md lists them), each as
 * verifyapikey.{policy}.{name} and, as Apigee's analytics variables are, unprefixed too. The consumer
 * secret is never set: the snapshot holds only its hash.
 */
function apigeeVariables(
  ctx: PolicyContext,
  key: string,
  app: App__Output,
  credential: Credential__Output,
  product: Product__Output,
): Record<string, string> {
  const developer = app.developerRef === '' ? undefined : ctx.runtime.developer(app.namespace, app.developerRef);
  const expiresAt = Number(credential.expiresAt);
  const values: Record<string, string> = {
    client_id: key,
    status: lower(credential.status),
    expires_at: expiresAt > 0 ? String(expiresAt) : '-1',
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
  return values;
}

function setVariables(
  ctx: PolicyContext,
  meta: PolicyMeta,
  key: string,
  app: App__Output,
  credential: Credential__Output,
  product: Product__Output,
): void {
  const prefix = `verifyapikey.${meta.name}`;
  for (const [name, value] of Object.entries(apigeeVariables(ctx, key, app, credential, product))) {
    ctx.variables.set(name, value);
    ctx.variables.set(`${prefix}.${name}`, value);
  }
  // Gatehouse's own: the key's scopes (its approved products'), space-separated as OAuth writes them.
  ctx.variables.set(`${prefix}.scope`, ctx.runtime.credentialScopes(app).join(' '));
  ctx.variables.set(`${prefix}.failed`, false);
}

export const verifyApiKeyPolicy: PolicyImplementation<VerifyAPIKeyConfig> = {
  type: 'VerifyAPIKey',
  create(config, meta) {
    checkConfig(verifyAPIKey, config, meta);
    const failed = (ctx: PolicyContext, fault: PolicyFault): PolicyFault => {
      ctx.variables.set(`verifyapikey.${meta.name}.failed`, true);
      return fault;
    };
    return (ctx) => {
      const key = ctx.variables.resolve(config.apiKey);
      if (typeof key !== 'string' || key === '') throw failed(ctx, faults.unresolved());
      const found = ctx.runtime.findCredential(ctx.runtime.hashCredential(key));
      if (!found) throw failed(ctx, faults.unknown());
      const { app, credential } = found;
      if (credential.status !== 'Approved') throw failed(ctx, faults.keyNotApproved());
      const expiresAt = Number(credential.expiresAt);
      if (expiresAt > 0 && expiresAt <= ctx.now()) throw failed(ctx, faults.expired());
      if (app.status !== 'Approved') throw failed(ctx, faults.appNotApproved());
      if (!ctx.runtime.developerActive(app)) throw failed(ctx, faults.developerNotActive());
      const product = findCoveringProduct(app, ctx);
      if (!product) throw failed(ctx, faults.notForResource());
      setVariables(ctx, meta, key, app, credential, product);
      return undefined;
    };
  },
};
