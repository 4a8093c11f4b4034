// ApiProduct (DESIGN 3): a bundle of proxies, resource paths and methods that apps subscribe to, with an
// optional quota the Quota policy can use (useProductQuota).
import { attributes, objectName, statusBase, timeUnits } from './common.ts';
import { array, enumOf, integer, object, optional, string, type Infer } from './schema.ts';

export const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

export const apiProductSpec = object({
  displayName: optional(string({ maxLength: 256 })),
  proxies: array(objectName('name of an ApiProxy in the same namespace'), {
    minItems: 1,
    maxItems: 256,
    'x-kubernetes-list-type': 'set',
  }),
  resources: optional(
    array(string({ maxLength: 512, pattern: '^/' }), {
      maxItems: 64,
      description:
        'path patterns relative to the proxy base path: "/" the base alone, "/*" one segment, "/**" anything (default: "/**")',
    }),
  ),
  methods: optional(
    array(enumOf(httpMethods), {
      maxItems: 9,
      'x-kubernetes-list-type': 'set',
      description: 'allowed methods (empty: all)',
    }),
  ),
  quota: optional(
    object({
      limit: integer({ minimum: 1, format: 'int64' }),
      interval: optional(integer({ minimum: 1, default: 1, format: 'int64' })),
      timeUnit: enumOf(timeUnits),
    }),
  ),
  scopes: optional(array(string({ maxLength: 256 }), { maxItems: 64, 'x-kubernetes-list-type': 'set' })),
  approval: optional(enumOf(['Auto', 'Manual'], { default: 'Auto' })),
  attributes: optional(attributes),
});
export type ApiProductSpec = Infer<typeof apiProductSpec>;

export const apiProductStatus = object({ ...statusBase });
