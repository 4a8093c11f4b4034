// AccessEntity: reads the profile of an app, API product, consumer key or developer of the proxy's
// namespace into the flow variable AccessEntity.{policy}, as XML (default) or JSON (docs/policies.md).
// Entities are looked up in the runtime snapshot; consumer keys and secrets are never in the output.
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type JSONSchema, type RefOr } from '../schema.ts';

export const entityTypes = ['apiproduct', 'app', 'consumerkey', 'developer'] as const;
export type EntityType = (typeof entityTypes)[number];

export const identifierTypes = [
  'apiproductname',
  'appid',
  'appname',
  'consumerkey',
  'developeremail',
  'developerid',
] as const;
export type IdentifierType = (typeof identifierTypes)[number];

/** Which identifier types each entity type takes, as Apigee's table of supported identifiers. */
export const identifiersOf: Readonly<Record<EntityType, readonly IdentifierType[]>> = {
  apiproduct: ['apiproductname', 'appid', 'appname', 'consumerkey'],
  app: ['appid', 'appname', 'consumerkey'],
  consumerkey: ['consumerkey'],
  developer: ['appid', 'consumerkey', 'developeremail', 'developerid'],
};

/** SecondaryIdentifier types: the developer of an app named by appname. */
export const secondaryIdentifierTypes = ['developeremail', 'developerid'] as const;
export type SecondaryIdentifierType = (typeof secondaryIdentifierTypes)[number];

export interface EntityIdentifier<T extends string> {
  type: T;
  /** The identifier: `{ref: VARIABLE}` (a literal is allowed except for consumerkey). */
  value: RefOr<string>;
}

export interface AccessEntityConfig {
  entityType: EntityType;
  entityIdentifier: EntityIdentifier<IdentifierType>;
  secondaryIdentifier?: EntityIdentifier<SecondaryIdentifierType>;
  /** XML (default, Apigee's) or JSON. */
  outputFormat?: 'XML' | 'JSON';
}

const identifier = (types: readonly string[], what: string): JSONSchema => ({
  type: 'object',
  required: ['type', 'value'],
  description: what,
  properties: {
    type: { type: 'string', enum: types, description: 'What the value identifies. Apigee: the type attribute.' },
    value: refOr({
      type: 'string',
      maxLength: 1024,
      description:
        'The identifier, usually {ref: VARIABLE} (a literal is refused for consumerkey: it would be a key in clear in the snapshot). Apigee: the ref attribute or the element text.',
    }),
  },
});

function validate(config: unknown): ConfigProblem[] {
  const c = config as AccessEntityConfig;
  const problems: ConfigProblem[] = [];
  const allowed = identifiersOf[c.entityType];
  if (!allowed.includes(c.entityIdentifier.type))
    problems.push({
      path: 'entityIdentifier.type',
      message: `entityType ${c.entityType} is identified by ${allowed.join(', ')}, not ${c.entityIdentifier.type}`,
    });
  if (c.entityIdentifier.type === 'consumerkey' && typeof c.entityIdentifier.value === 'string')
    problems.push({
      path: 'entityIdentifier.value',
      message:
        'a literal consumer key would stand in the snapshot in clear: read it from the request with {ref: VARIABLE}',
    });
  if (c.secondaryIdentifier && c.entityIdentifier.type !== 'appname')
    problems.push({
      path: 'secondaryIdentifier',
      message: 'only an appname entityIdentifier takes a secondaryIdentifier (the developer of the app)',
    });
  return problems;
}

export const accessEntity: PolicyTypeSpec = {
  type: 'AccessEntity',
  member: 'accessEntity',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      "AccessEntity: reads the profile of an app, API product, consumer key or developer of the proxy's namespace into the variable AccessEntity.<policy name>, as XML or JSON; nothing is set when there is no such entity. Consumer keys and secrets are never in the profile. Apigee: <AccessEntity>.",
    required: ['entityType', 'entityIdentifier'],
    properties: {
      entityType: {
        type: 'string',
        enum: entityTypes,
        description: 'The kind of entity: apiproduct, app, consumerkey or developer. Apigee: <EntityType value>.',
      },
      entityIdentifier: identifier(
        identifierTypes,
        'Which entity: apiproduct by apiproductname, appid, appname or consumerkey (the first Approved product of the app); app by appid, appname or consumerkey; consumerkey by consumerkey; developer by appid, consumerkey, developeremail or developerid. appid and appname are the DeveloperApp name, developerid the Developer name. Apigee: <EntityIdentifier>.',
      ),
      secondaryIdentifier: identifier(
        secondaryIdentifierTypes,
        'With an appname identifier: the developer the app must belong to (developeremail or developerid); an app of another developer is not found. Apigee: <SecondaryIdentifier>.',
      ),
      outputFormat: {
        type: 'string',
        enum: ['XML', 'JSON'],
        default: 'XML',
        description:
          "The profile's format: XML (default, Apigee's entity XML) or JSON (the same members in Apigee's management API shape). Apigee: <OutputFormat>.",
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as AccessEntityConfig;
    const names = [refName(c.entityIdentifier.value), refName(c.secondaryIdentifier?.value)];
    return readsBodyVariable(phase, { names });
  },
  validate,
};
