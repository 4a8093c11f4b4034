// DeveloperApp (DESIGN 3): a consumer with its developer, product subscriptions and credentials. Credentials
// live in Secrets (consumerKey, consumerSecret); the snapshot only carries keyed hashes of them.
import { attributes, objectName, secretRef, statusBase } from './common.ts';
import { array, enumOf, object, optional, string, type Infer } from './schema.ts';

export const developerAppSpec = object({
  developer: object({
    email: string({ maxLength: 254, format: 'email' }),
    name: optional(string({ maxLength: 256 })),
  }),
  products: array(
    object({
      name: objectName('name of an ApiProduct in the same namespace'),
      status: optional(enumOf(['Approved', 'Pending', 'Revoked'], { default: 'Approved' })),
    }),
    { maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
  ),
  credentials: optional(
    array(
      object({
        secretRef,
        status: optional(enumOf(['Approved', 'Revoked'], { default: 'Approved' })),
        expiresAt: optional(
          string({ format: 'date-time', description: 'RFC 3339 time after which the credential is refused' }),
        ),
      }),
      { maxItems: 16 },
    ),
  ),
  status: optional(
    enumOf(['Approved', 'Revoked'], {
      default: 'Approved',
      description: 'Revoked refuses every credential of the app',
    }),
  ),
  attributes: optional(attributes),
  callbackUrl: optional(string({ maxLength: 2048, pattern: '^https?://' })),
});
export type DeveloperAppSpec = Infer<typeof developerAppSpec>;

export const developerAppStatus = object({ ...statusBase });
