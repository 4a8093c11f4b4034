// KeyValueMapOperations: Get, Put and Delete entries of a key value map (docs/policies.md). The maps
// are KeyValueMap objects of the policy's namespace (declared entries, docs/api.md) plus what Put and
// Delete changed at runtime in the store (memory or Redis). Apigee: <KeyValueMapOperations>.
//
// Order: the compiled config is canonical JSON, so the order elements were written in does not
// survive; the operations run put, then get, then delete (each list in its declared order).
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type JSONSchema, type RefOr } from '../schema.ts';

export type KvmScope = 'organization' | 'environment' | 'apiproxy' | 'policy';
export const kvmScopes: readonly KvmScope[] = ['organization', 'environment', 'apiproxy', 'policy'];

/** Apigee's composite key: the parameters' values joined with "__". */
export interface KvmKey {
  parameters: RefOr<string>[];
}

export interface KvmGet {
  /** The variable that receives the value; `private.` prefixed for an encrypted map. */
  assignTo: string;
  /** 1-based index of the value of a multi-valued entry; absent: every value, comma-joined. */
  index?: number;
  key: KvmKey;
}

export interface KvmPut {
  /** true: replaces an existing value; false (default): a key that has a value keeps it. */
  override?: boolean;
  key: KvmKey;
  value: RefOr<string>[];
  /** Gatehouse: the entry expires this many seconds after the put; absent: it persists. */
  expiryTimeInSecs?: number;
}

export interface KvmDelete {
  key: KvmKey;
}

export interface KeyValueMapOperationsConfig {
  mapIdentifier?: string;
  /** The map name from a variable or a literal (Apigee <MapName ref>); wins over mapIdentifier. */
  mapName?: RefOr<string>;
  scope?: KvmScope;
  /** Seconds a Get's value is cached in this process; default 300, 0 turns the cache off. */
  expiryTimeInSecs?: number;
  exclusiveCache?: boolean;
  initialEntries?: Array<{ key: { parameters: string[] }; value: string[] }>;
  put?: KvmPut[];
  get?: KvmGet[];
  delete?: KvmDelete[];
}

/** A map as a step or a KeyValueMap names it; only the owner field of its own scope counts. */
export interface KvmAddress {
  namespace: string;
  mapName: string;
  scope: string;
  /** environment scope: the DataPlane region; apiproxy: the ApiProxy; policy: the ApiPolicy. */
  environment: string;
  proxy: string;
  policy: string;
}

/** One map's identity, the same in the snapshot index and in the store: namespace, scope, owner, name. */
export function kvmAddressId(m: KvmAddress): string {
  const owner =
    m.scope === 'environment' ? m.environment : m.scope === 'apiproxy' ? m.proxy : m.scope === 'policy' ? m.policy : '';
  return JSON.stringify([m.namespace, m.scope, owner, m.mapName]);
}

/** Bounds on what a request may write to or read from a map (docs/failure-modes.md). */
export const KVM_MAX_KEY_BYTES = 2_048;
export const KVM_MAX_VALUE_BYTES = 10_240;
export const KVM_DEFAULT_EXPIRY_SECS = 300;

const mapNameLiteral: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$',
  description: 'A map name (1 to 253 letters, digits, "-", "_", ".").',
};

const keySchema = (what: string): JSONSchema => ({
  type: 'object',
  required: ['parameters'],
  description: `The key ${what}: the values of its parameters joined with "__" (Apigee's composite keys), at most ${KVM_MAX_KEY_BYTES} bytes. Apigee: <Key>.`,
  properties: {
    parameters: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      description: 'The key parts, 1 to 8. Apigee: <Parameter> elements.',
      items: refOr({
        type: 'string',
        minLength: 1,
        maxLength: KVM_MAX_KEY_BYTES,
        description: 'A literal key part. Apigee: <Parameter>text</Parameter>.',
      }),
    },
  },
});

const valuesSchema: JSONSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 16,
  description: `The values, 1 to 16 (a Get's index picks one); at most ${KVM_MAX_VALUE_BYTES} bytes together. Apigee: <Value> elements.`,
  items: refOr({
    type: 'string',
    maxLength: KVM_MAX_VALUE_BYTES,
    description: 'A literal value. Apigee: <Value>text</Value>.',
  }),
};

const expirySchema = (description: string): JSONSchema => ({
  type: 'integer',
  minimum: 0,
  maximum: 31_536_000,
  description,
});

export const keyValueMapOperations: PolicyTypeSpec = {
  type: 'KeyValueMapOperations',
  member: 'keyValueMapOperations',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      'KeyValueMapOperations: puts, gets and deletes entries of a key value map (a KeyValueMap of the namespace, plus runtime changes kept in the store); runs put, then get, then delete. Apigee: <KeyValueMapOperations>.',
    properties: {
      mapIdentifier: {
        ...mapNameLiteral,
        description:
          'The map: the mapName of a KeyValueMap of this namespace at the policy scope. Apigee: the mapIdentifier attribute.',
      },
      mapName: refOr({
        ...mapNameLiteral,
        description: 'The map, from a variable or a literal; wins over mapIdentifier. Apigee: <MapName>.',
      }),
      scope: {
        type: 'string',
        enum: [...kvmScopes],
        default: 'environment',
        description:
          "Which map of that name: environment (default; the KeyValueMap whose environment is this DataPlane's region), organization (this namespace's), apiproxy (the KeyValueMap whose proxy is this step's ApiProxy) or policy (the one whose policy is this ApiPolicy). Apigee: <Scope>.",
      },
      expiryTimeInSecs: expirySchema(
        `Seconds a Get keeps a value it read in this extproc process (a Put or Delete through this process clears it); default ${KVM_DEFAULT_EXPIRY_SECS}, 0 reads the store on every Get. Apigee: <ExpiryTimeInSecs>.`,
      ),
      exclusiveCache: {
        type: 'boolean',
        description:
          'Accepted for Apigee compatibility; the cache is always per map and process. Apigee: <ExclusiveCache> (deprecated there).',
      },
      initialEntries: {
        type: 'array',
        maxItems: 256,
        description:
          "Entries the map has before any Put (at most 256), under the KeyValueMap's own entries: a Get falls back to them; Put and Delete override them. Apigee: <InitialEntries>.",
        items: {
          type: 'object',
          required: ['key', 'value'],
          description: 'One entry. Apigee: <Entry>.',
          properties: {
            key: {
              type: 'object',
              required: ['parameters'],
              description: 'The key: literal parts joined with "__". Apigee: <Key>.',
              properties: {
                parameters: {
                  type: 'array',
                  minItems: 1,
                  maxItems: 8,
                  description: 'The key parts. Apigee: <Parameter>.',
                  items: { type: 'string', minLength: 1, maxLength: KVM_MAX_KEY_BYTES, description: 'A key part.' },
                },
              },
            },
            value: {
              type: 'array',
              minItems: 1,
              maxItems: 16,
              description: 'The values. Apigee: <Value>.',
              items: { type: 'string', maxLength: KVM_MAX_VALUE_BYTES, description: 'A value.' },
            },
          },
        },
      },
      put: {
        type: 'array',
        maxItems: 16,
        description: 'Entries to write, in order (at most 16). Apigee: <Put>.',
        items: {
          type: 'object',
          required: ['key', 'value'],
          description: 'One write. Apigee: <Put>.',
          properties: {
            override: {
              type: 'boolean',
              default: false,
              description:
                'true replaces a value the key has; false (default) leaves a key that has a value as it is. Apigee: the override attribute.',
            },
            key: keySchema('written'),
            value: valuesSchema,
            expiryTimeInSecs: expirySchema(
              'The entry expires this many seconds after the write; absent: it persists (Gatehouse; Apigee X entries never expire).',
            ),
          },
        },
      },
      get: {
        type: 'array',
        maxItems: 16,
        description: 'Entries to read into variables, in order (at most 16). Apigee: <Get>.',
        items: {
          type: 'object',
          required: ['assignTo', 'key'],
          description: 'One read. Apigee: <Get>.',
          properties: {
            assignTo: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description:
                'The variable set to the value (unset when the key has none). Reading an encrypted map needs a private. prefixed variable (else steps.keyvaluemapoperations.SetVariableFailed). Apigee: the assignTo attribute.',
            },
            index: {
              type: 'integer',
              minimum: 1,
              maximum: 16,
              description:
                'Which value of a multi-valued entry, from 1; absent: every value, comma-joined. Apigee: the index attribute.',
            },
            key: keySchema('read'),
          },
        },
      },
      delete: {
        type: 'array',
        maxItems: 16,
        description: 'Entries to delete, in order (at most 16). Apigee: <Delete>.',
        items: {
          type: 'object',
          required: ['key'],
          description: 'One delete. Apigee: <Delete>.',
          properties: { key: keySchema('deleted') },
        },
      },
    },
    'x-kubernetes-validations': [
      // mapIdentifier-or-mapName is the compiler's check only: mapName is a ref-or node, which CEL cannot read.
      {
        rule: 'has(self.put) || has(self.get) || has(self.delete)',
        message: 'at least one of put, get or delete is required',
      },
    ],
  },
  needsBody: () => false,
  validate: (config) => validateKeyValueMapOperations(config as KeyValueMapOperationsConfig),
};

function validateKeyValueMapOperations(config: KeyValueMapOperationsConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.mapIdentifier === undefined && config.mapName === undefined)
    problems.push({ path: 'mapIdentifier', message: 'mapIdentifier or mapName is required' });
  if (!config.put?.length && !config.get?.length && !config.delete?.length)
    problems.push({ path: '', message: 'at least one of put, get or delete is required' });
  config.initialEntries?.forEach((entry, i) => {
    if (Buffer.byteLength(entry.key.parameters.join('__')) > KVM_MAX_KEY_BYTES)
      problems.push({ path: `initialEntries[${i}].key`, message: `longer than ${KVM_MAX_KEY_BYTES} bytes` });
    if (Buffer.byteLength(entry.value.join('')) > KVM_MAX_VALUE_BYTES)
      problems.push({ path: `initialEntries[${i}].value`, message: `longer than ${KVM_MAX_VALUE_BYTES} bytes` });
  });
  return problems;
}
