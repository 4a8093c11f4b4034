// KeyValueMap (docs/api.md, docs/policies.md#keyvaluemapoperations): a key value map of one Apigee
// scope in one namespace, with its declared entries; KeyValueMapOperations steps of the namespace read
// them under what Put and Delete changed at runtime. An encrypted map takes its values from Secrets,
// which reach the data plane only in the snapshot's policy_secrets, never in the map's own entries.
import { compiledStatusBase, objectName } from './common.ts';
import { array, boolean, described, enumOf, object, optional, string, type Infer } from './schema.ts';

const keyText = string({
  minLength: 1,
  maxLength: 2048,
  description: 'The key (composite keys: the parts joined with "__", as KeyValueMapOperations joins them).',
});

export const keyValueMapSpec = object(
  {
    mapName: optional(
      string({
        minLength: 1,
        maxLength: 253,
        pattern: '^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$',
        description:
          "The name KeyValueMapOperations' mapIdentifier (or mapName) uses; default metadata.name. Lets two scopes have a map of one name. Apigee: the map's name.",
      }),
    ),
    scope: enumOf(['organization', 'environment', 'apiproxy', 'policy'], {
      description:
        "Apigee's scope: organization (every proxy of this namespace), environment (the DataPlanes whose region is environment), apiproxy (the ApiProxy named proxy) or policy (the ApiPolicy named policy). A step finds the map by its own scope (KeyValueMapOperations scope).",
    }),
    environment: optional(
      string({
        minLength: 1,
        maxLength: 63,
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        description: 'environment scope: the DataPlane region (environment.name) the map belongs to.',
      }),
    ),
    proxy: optional(objectName('apiproxy scope: the ApiProxy of this namespace the map belongs to.')),
    policy: optional(objectName('policy scope: the KeyValueMapOperations ApiPolicy of this namespace it belongs to.')),
    encrypted: optional(
      boolean({
        default: false,
        description:
          'true: every value comes from a Secret (valueFrom), is read only into private.* variables (masked in logs), and what Put writes is sealed in the store. Apigee: an encrypted KVM.',
      }),
    ),
    entries: optional(
      array(
        object(
          {
            key: keyText,
            values: optional(
              array(string({ maxLength: 10_240, description: 'A value.' }), {
                minItems: 1,
                maxItems: 16,
                description:
                  'Literal values (a Get index picks one; at most 16, 10,240 bytes together); not allowed when encrypted.',
              }),
            ),
            valueFrom: optional(
              object(
                {
                  secretKeyRef: described(
                    object(
                      {
                        name: objectName('Name of a Secret in the same namespace.'),
                        key: string({
                          minLength: 1,
                          maxLength: 253,
                          pattern: '^[-._a-zA-Z0-9]+$',
                          description: 'The key of the Secret.',
                        }),
                      },
                      { description: 'A key of a Secret in the same namespace.' },
                    ),
                    'A key of a Secret in the same namespace, labelled gatehouse.dev/credential so the operator sees it.',
                  ),
                },
                { description: 'The value from a Secret.' },
              ),
            ),
          },
          {
            description: 'One entry: a key and either literal values or a value from a Secret.',
            rules: [
              {
                rule: 'has(self.values) != has(self.valueFrom)',
                message: 'exactly one of values or valueFrom',
                check: (e) => (e.values !== undefined) !== (e.valueFrom !== undefined),
              },
            ],
          },
        ),
        {
          maxItems: 1024,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['key'],
          description: 'The declared entries, by key (at most 1,024). Apigee: the KVM entries.',
        },
      ),
    ),
  },
  {
    description:
      'A key value map: a scope, its owner in that scope, and declared entries that KeyValueMapOperations reads. Apigee: a key value map (KVM).',
    rules: [
      {
        rule: "self.scope != 'environment' || has(self.environment)",
        message: 'environment scope needs environment',
        fieldPath: '.environment',
        check: (s) => s.scope !== 'environment' || s.environment !== undefined,
      },
      {
        rule: "self.scope != 'apiproxy' || has(self.proxy)",
        message: 'apiproxy scope needs proxy',
        fieldPath: '.proxy',
        check: (s) => s.scope !== 'apiproxy' || s.proxy !== undefined,
      },
      {
        rule: "self.scope != 'policy' || has(self.policy)",
        message: 'policy scope needs policy',
        fieldPath: '.policy',
        check: (s) => s.scope !== 'policy' || s.policy !== undefined,
      },
      {
        rule: '!(has(self.encrypted) && self.encrypted) || !has(self.entries) || self.entries.all(e, has(e.valueFrom))',
        message: 'an encrypted map takes every value from a Secret (valueFrom)',
        fieldPath: '.entries',
        check: (s) => !s.encrypted || (s.entries ?? []).every((e) => e.valueFrom !== undefined),
      },
    ],
  },
);
export type KeyValueMapSpec = Infer<typeof keyValueMapSpec>;

export const keyValueMapStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this KeyValueMap, written by the operator.' },
);
