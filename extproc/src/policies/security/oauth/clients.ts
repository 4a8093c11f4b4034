// Who is asking the token endpoint, and what their app may have (docs/policies.md#oauthv2): client
// authentication by Basic header or client_id/client_secret form fields, compared through the
// snapshot's keyed credential hashes (constant time), and the app's approved products and scopes.
import { timingSafeEqual } from 'node:crypto';
import type { App__Output } from '../../../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Product__Output } from '../../../../../protos/gen/gatehouse/v1/Product.ts';
import type { RefOr } from '../../../../../protos/policies/schema.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import { invalidClient, invalidRequest, invalidScope } from './faults.ts';

export interface Client {
  app: App__Output;
  credential: Credential__Output;
  clientId: string;
  /** It authenticated with a Basic header (its 401s carry WWW-Authenticate). */
  basic: boolean;
}

/** A request parameter: the configured ref, else the form field, else the query parameter. */
export function param(ctx: PolicyContext, configured: RefOr<string> | undefined, name: string): string | undefined {
  const value =
    configured !== undefined
      ? ctx.variables.resolve(configured)
      : (ctx.variables.getString(`request.formparam.${name}`) ?? ctx.variables.getString(`request.queryparam.${name}`));
  return value === undefined || value === '' ? undefined : String(value);
}

interface Presented {
  id?: string;
  secret?: string;
  basic: boolean;
}

const formDecode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
};

/**
 * client_id and client_secret from `Authorization: Basic`, else the form fields. RFC 6749 2.3.1
 * form-encodes both before base64, and many clients (Authlib, curl -u) do not: both readings are
 * candidates, the literal one first.
 */
function presentedCredentials(ctx: PolicyContext): Presented[] {
  const header = ctx.request.headers.get('authorization');
  const match = header === undefined ? null : /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) {
    return [
      {
        id: param(ctx, undefined, 'client_id'),
        secret: ctx.variables.getString('request.formparam.client_secret') || undefined,
        basic: false,
      },
    ];
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('Invalid Basic credentials');
  const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  const [formId, formSecret] = [formDecode(id), formDecode(secret)];
  const candidates: Presented[] = [{ id, secret, basic: true }];
  if (formId !== undefined && formSecret !== undefined && (formId !== id || formSecret !== secret)) {
    candidates.push({ id: formId, secret: formSecret, basic: true });
  }
  return candidates;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The approved, unexpired credential of an approved app with this consumer key. */
export function findClient(ctx: PolicyContext, clientId: string, basic = false): Client {
  const found = ctx.runtime.findCredential(ctx.runtime.hashCredential(clientId));
  // Only apps of the token endpoint's own namespace: another tenant's endpoint must not mint (or
  // shape, with its lifetimes and attributes) tokens for this tenant's apps.
  if (!found || found.app.namespace !== ctx.proxy.namespace) throw invalidClient();
  const { app, credential } = found;
  const expiresAt = Number(credential.expiresAt);
  if (
    credential.status !== 'Approved' ||
    app.status === 'Revoked' ||
    (expiresAt > 0 && expiresAt <= ctx.now()) ||
    !ctx.runtime.developerActive(app)
  ) {
    throw invalidClient('Client is not approved');
  }
  return { app, credential, clientId, basic };
}

/** The client of a token request; `checkSecret` false is ExternalAuthorization (the secret was checked elsewhere). */
export function authenticateClient(ctx: PolicyContext, checkSecret: boolean, configuredId?: RefOr<string>): Client {
  let refusal: unknown;
  for (const presented of presentedCredentials(ctx)) {
    const id = configuredId !== undefined ? param(ctx, configuredId, 'client_id') : presented.id;
    if (id === undefined) throw invalidRequest('The request is missing a required parameter : client_id');
    try {
      const client = findClient(ctx, id, presented.basic);
      if (checkSecret) {
        const presentedHash = presented.secret === undefined ? '' : ctx.runtime.hashCredential(presented.secret);
        if (!sameHash(presentedHash, client.credential.secretHash)) throw invalidClient('Invalid client credentials');
      }
      return client;
    } catch (err) {
      refusal ??= err;
    }
  }
  throw refusal;
}

/** The client's app is still approved in the current snapshot (a token outlives nothing revoked). */
export function stillApproved(ctx: PolicyContext, keyHash: string): Client | undefined {
  const found = ctx.runtime.findCredential(keyHash);
  if (!found) return undefined;
  const expiresAt = Number(found.credential.expiresAt);
  if (found.credential.status !== 'Approved' || found.app.status === 'Revoked') return undefined;
  if (!ctx.runtime.developerActive(found.app)) return undefined;
  if (expiresAt > 0 && expiresAt <= ctx.now()) return undefined;
  return { ...found, clientId: '', basic: false };
}

/** The app's approved products that exist in the snapshot: a token's api_product_list, as Apigee lists it. */
export function approvedProducts(ctx: PolicyContext, app: App__Output, only?: readonly string[]): Product__Output[] {
  const products: Product__Output[] = [];
  for (const entry of app.products) {
    if (entry.status !== 'Approved' || (only && !only.includes(entry.name))) continue;
    const product = ctx.runtime.product(app.namespace, entry.name);
    if (product) products.push(product);
  }
  return products;
}

/**
 * The token's scope: the requested scopes when every one is a scope of the products, else
 * invalid_scope; nothing requested grants every scope of the products (as Apigee does).
 */
export function grantedScope(products: readonly Product__Output[], requested: string | undefined): string {
  const offered = [...new Set(products.flatMap((p) => p.scopes))];
  if (requested === undefined || requested.trim() === '') return offered.join(' ');
  const asked = [...new Set(requested.split(/\s+/).filter((s) => s !== ''))];
  const unknown = asked.filter((s) => !offered.includes(s));
  if (unknown.length > 0) throw invalidScope(`Invalid scope : ${unknown.join(' ')}`);
  return asked.join(' ');
}
