// VerifyAPIKey (docs/policies.md): the key must belong to an approved, unexpired credential of an
// approved app, and one of the app's approved products must cover this proxy, path suffix and method.
// Keys are looked up by keyed hash only; the key itself is never logged.
import type { App__Output } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Product__Output } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import { verifyAPIKey, type VerifyAPIKeyConfig } from '../../../../protos/policies/security/verify-api-key.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

function unauthorized(errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status: 401, errorCode, faultString });
}

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

function setVariables(
  ctx: PolicyContext,
  meta: PolicyMeta,
  key: string,
  app: App__Output,
  product: Product__Output,
): void {
  const prefix = `verifyapikey.${meta.name}`;
  const values: Record<string, string> = {
    client_id: key,
    'developer.app.name': app.name,
    'developer.email': app.developerEmail,
    'developer.name': app.developerName,
    'apiproduct.name': product.name,
  };
  for (const [name, value] of Object.entries(product.attributes)) values[`apiproduct.${name}`] = value;
  for (const [name, value] of Object.entries(app.attributes)) values[`app.${name}`] = value;
  if (product.quota && Number(product.quota.limit) > 0) {
    values['apiproduct.developer.quota.limit'] = String(product.quota.limit);
    values['apiproduct.developer.quota.interval'] = String(product.quota.interval);
    values['apiproduct.developer.quota.timeunit'] = product.quota.timeUnit;
  }
  for (const [name, value] of Object.entries(values)) {
    ctx.variables.set(name, value);
    ctx.variables.set(`${prefix}.${name}`, value);
  }
  ctx.variables.set(`${prefix}.failed`, false);
}

export const verifyApiKeyPolicy: PolicyImplementation<VerifyAPIKeyConfig> = {
  type: 'VerifyAPIKey',
  create(config, meta) {
    checkConfig(verifyAPIKey, config, meta);
    return (ctx) => {
      const key = ctx.variables.resolve(config.apiKey);
      if (typeof key !== 'string' || key === '') {
        throw unauthorized('oauth.v2.FailedToResolveAPIKey', 'Failed to resolve API Key variable');
      }
      const found = ctx.runtime.findCredential(ctx.runtime.hashCredential(key));
      if (!found) throw unauthorized('oauth.v2.InvalidApiKey', 'Invalid ApiKey');
      const { app, credential } = found;
      if (credential.status !== 'Approved' || app.status === 'Revoked') {
        throw unauthorized(
          'keymanagement.service.invalid_client-app_not_approved',
          'Invalid client: the app or its credential is not approved',
        );
      }
      const expiresAt = Number(credential.expiresAt);
      if (expiresAt > 0 && expiresAt <= ctx.now()) {
        throw unauthorized('keymanagement.service.consumer_key_expired', 'The consumer key has expired');
      }
      const product = findCoveringProduct(app, ctx);
      if (!product) throw unauthorized('oauth.v2.InvalidApiKeyForGivenResource', 'Invalid ApiKey for given resource');
      setVariables(ctx, meta, key, app, product);
      return undefined;
    };
  },
};
