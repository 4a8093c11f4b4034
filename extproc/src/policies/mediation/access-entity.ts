// AccessEntity (docs/policies.md): looks an app, API product, consumer key or developer up in the
// runtime snapshot and writes its profile to AccessEntity.{policy}, as Apigee's entity XML or as JSON.
// Only entities of the proxy's namespace are ever found (docs/tenancy.md); consumer keys and secrets
// are never written (the snapshot only has their hashes, and a profile must not echo a key).
import { XMLBuilder } from 'fast-xml-parser';
import type { App__Output } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Developer__Output } from '../../../../protos/gen/gatehouse/v1/Developer.ts';
import type { Product__Output } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import {
  accessEntity,
  type AccessEntityConfig,
  type EntityIdentifier,
  type SecondaryIdentifierType,
} from '../../../../protos/policies/mediation/access-entity.ts';
import type { PolicyContext, PolicyImplementation, RuntimeIndex } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

/** A profile in both output shapes: the XML element tree (fast-xml-parser builder input) and JSON. */
interface Profile {
  xml: Record<string, unknown>;
  json: Record<string, unknown>;
}

const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', processEntities: true });

/** Apigee writes statuses and approval types in lowercase. */
const lower = (s: string) => s.toLowerCase();
const attributeList = (attributes: Record<string, string>) =>
  Object.entries(attributes).map(([name, value]) => ({ name, value }));
const xmlAttributes = (attributes: Record<string, string>) => ({
  Attribute: attributeList(attributes).map(({ name, value }) => ({ Name: name, Value: value })),
});

/** A developer without a Developer object: the inline developer of its apps (always active). */
interface InlineDeveloper {
  email: string;
  name: string;
}

function developerProfile(ctx: PolicyContext, developer: Developer__Output | InlineDeveloper): Profile {
  const full = 'status' in developer;
  const apps = ctx.runtime.appsOfDeveloper(ctx.proxy.namespace, developer.email).map((a) => a.name);
  const fields = {
    email: developer.email,
    developerId: full ? developer.name : '',
    firstName: full ? developer.firstName : developer.name,
    lastName: full ? developer.lastName : '',
    userName: full ? developer.userName : '',
    status: full ? developer.status : 'active',
  };
  const attributes = full ? developer.attributes : {};
  return {
    xml: {
      Developer: {
        Apps: { App: apps },
        Attributes: xmlAttributes(attributes),
        DeveloperId: fields.developerId,
        Email: fields.email,
        FirstName: fields.firstName,
        LastName: fields.lastName,
        Status: fields.status,
        UserName: fields.userName,
      },
    },
    json: { ...fields, apps, attributes: attributeList(attributes) },
  };
}

function credentialFields(runtime: RuntimeIndex, app: App__Output, credential: Credential__Output) {
  const expiresAt = Number(credential.expiresAt);
  return {
    apiProducts: app.products.map((p) => ({ apiproduct: p.name, status: lower(p.status) })),
    expiresAt: expiresAt > 0 ? expiresAt : -1,
    scopes: [...runtime.credentialScopes(app)],
    status: lower(credential.status),
  };
}

function credentialXml(fields: ReturnType<typeof credentialFields>) {
  return {
    ApiProducts: { ApiProduct: fields.apiProducts.map((p) => ({ Name: p.apiproduct, Status: p.status })) },
    ExpiresAt: fields.expiresAt,
    Scopes: { Scope: fields.scopes },
    Status: fields.status,
  };
}

function credentialProfile(runtime: RuntimeIndex, app: App__Output, credential: Credential__Output): Profile {
  const fields = credentialFields(runtime, app, credential);
  return { xml: { Credential: { AppId: app.name, ...credentialXml(fields) } }, json: { appId: app.name, ...fields } };
}

function appProfile(runtime: RuntimeIndex, app: App__Output): Profile {
  const credentials = app.credentials.map((c) => credentialFields(runtime, app, c));
  const fields = {
    appId: app.name,
    name: app.name,
    developerId: app.developerRef,
    status: lower(app.status),
    callbackUrl: app.callbackUrl,
  };
  return {
    xml: {
      App: {
        AppId: fields.appId,
        Attributes: xmlAttributes(app.attributes),
        CallbackUrl: fields.callbackUrl,
        Credentials: { Credential: credentials.map(credentialXml) },
        DeveloperId: fields.developerId,
        Name: fields.name,
        Status: fields.status,
      },
    },
    json: { ...fields, attributes: attributeList(app.attributes), credentials },
  };
}

function productProfile(product: Product__Output): Profile {
  const quota = product.quota && Number(product.quota.limit) > 0 ? product.quota : undefined;
  const fields = {
    name: product.name,
    displayName: product.displayName,
    approvalType: lower(product.approval),
    apiResources: product.resources,
    proxies: product.proxies,
    scopes: product.scopes,
    ...(quota
      ? { quota: String(quota.limit), quotaInterval: String(quota.interval), quotaTimeUnit: quota.timeUnit }
      : {}),
  };
  return {
    xml: {
      ApiProduct: {
        '@_name': product.name,
        ApiResources: { ApiResource: fields.apiResources },
        ApprovalType: fields.approvalType,
        Attributes: xmlAttributes(product.attributes),
        DisplayName: fields.displayName,
        Name: fields.name,
        Proxies: { Proxy: fields.proxies },
        ...(quota
          ? { Quota: fields.quota, QuotaInterval: fields.quotaInterval, QuotaTimeUnit: fields.quotaTimeUnit }
          : {}),
        Scopes: { Scope: fields.scopes },
      },
    },
    json: { ...fields, attributes: attributeList(product.attributes) },
  };
}

/** The app a key, an app id or an app name (and its developer) names, in the proxy's namespace. */
function findApp(
  ctx: PolicyContext,
  identifier: { type: string; value: string },
  secondary: { type: SecondaryIdentifierType; value: string | undefined } | undefined,
): { app: App__Output; credential?: Credential__Output } | undefined {
  const ns = ctx.proxy.namespace;
  if (identifier.type === 'consumerkey') {
    const found = ctx.runtime.findCredential(ctx.runtime.hashCredential(identifier.value));
    // A key of another namespace's app is not this proxy's to describe: as if it did not exist.
    return found && found.app.namespace === ns ? found : undefined;
  }
  const app = ctx.runtime.app(ns, identifier.value);
  if (!app || !secondary) return app && { app };
  const matches =
    secondary.type === 'developeremail'
      ? app.developerEmail.toLowerCase() === (secondary.value ?? '').toLowerCase()
      : app.developerRef !== '' && app.developerRef === secondary.value;
  return matches ? { app } : undefined;
}

function developerOfApp(ctx: PolicyContext, app: App__Output): Developer__Output | InlineDeveloper | undefined {
  if (app.developerRef === '') return { email: app.developerEmail, name: app.developerName };
  return ctx.runtime.developer(app.namespace, app.developerRef);
}

function findDeveloperByEmail(ctx: PolicyContext, email: string): Developer__Output | InlineDeveloper | undefined {
  const ns = ctx.proxy.namespace;
  const developer = ctx.runtime.developerByEmail(ns, email);
  if (developer) return developer;
  const inline = ctx.runtime.appsOfDeveloper(ns, email).find((a) => a.developerRef === '');
  return inline && { email: inline.developerEmail, name: inline.developerName };
}

function lookup(
  ctx: PolicyContext,
  config: AccessEntityConfig,
  identifier: { type: string; value: string },
  secondary: { type: SecondaryIdentifierType; value: string | undefined } | undefined,
): Profile | undefined {
  const ns = ctx.proxy.namespace;
  const { runtime } = ctx;
  switch (config.entityType) {
    case 'developer': {
      if (identifier.type === 'developerid') {
        const developer = runtime.developer(ns, identifier.value);
        return developer && developerProfile(ctx, developer);
      }
      if (identifier.type === 'developeremail') {
        const developer = findDeveloperByEmail(ctx, identifier.value);
        return developer && developerProfile(ctx, developer);
      }
      const found = findApp(ctx, identifier, undefined);
      const developer = found && developerOfApp(ctx, found.app);
      return developer && developerProfile(ctx, developer);
    }
    case 'app': {
      const found = findApp(ctx, identifier, secondary);
      return found && appProfile(runtime, found.app);
    }
    case 'consumerkey': {
      const found = findApp(ctx, identifier, undefined);
      return found?.credential && credentialProfile(runtime, found.app, found.credential);
    }
    case 'apiproduct': {
      if (identifier.type === 'apiproductname') {
        const product = runtime.product(ns, identifier.value);
        return product && productProfile(product);
      }
      // An app's product: its first Approved subscription that exists (docs/policies.md).
      const found = findApp(ctx, identifier, secondary);
      const product = found?.app.products
        .filter((p) => p.status === 'Approved')
        .map((p) => runtime.product(ns, p.name))
        .find((p) => p !== undefined);
      return product && productProfile(product);
    }
  }
}

function resolved(ctx: PolicyContext, identifier: EntityIdentifier<string>): string | undefined {
  const value = ctx.variables.resolve(identifier.value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export const accessEntityPolicy: PolicyImplementation<AccessEntityConfig> = {
  type: 'AccessEntity',
  create(config, meta) {
    checkConfig(accessEntity, config, meta);
    const variable = `AccessEntity.${meta.name}`;
    const format = config.outputFormat ?? 'XML';
    return (ctx) => {
      const value = resolved(ctx, config.entityIdentifier);
      if (value === undefined) return undefined;
      const secondary = config.secondaryIdentifier && {
        type: config.secondaryIdentifier.type,
        value: resolved(ctx, config.secondaryIdentifier),
      };
      const profile = lookup(ctx, config, { type: config.entityIdentifier.type, value }, secondary);
      if (!profile) return undefined;
      ctx.variables.set(variable, format === 'JSON' ? JSON.stringify(profile.json) : xmlBuilder.build(profile.xml));
      return undefined;
    };
  },
};
