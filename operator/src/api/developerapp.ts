// DeveloperApp (docs/architecture.md#the-api): a consumer with its developer, product subscriptions and credentials. Credentials
// live in Secrets (consumerKey, consumerSecret); the snapshot only carries keyed hashes of them. The
// developer is a Developer object named by developerRef, or (as before the Developer kind) written inline.
import { attributes, objectName, secretRef, compiledStatusBase } from './common.ts';
import { array, described, enumOf, object, optional, string, type Infer } from './schema.ts';

export const developerAppSpec = object(
  {
    developer: optional(
      object(
        {
          email: string({
            maxLength: 254,
            format: 'email',
            description: "The developer's email address; the developer.email flow variable. Apigee: developerEmail.",
          }),
          name: optional(
            string({
              maxLength: 256,
              description: "The developer's name; the developer.name flow variable. Apigee: firstName, lastName.",
            }),
          ),
        },
        {
          description:
            'Who owns the app, written inline (an active developer with no Developer object). Exactly one of developer and developerRef. Apigee: the developer of an app.',
        },
      ),
    ),
    developerRef: optional(
      object(
        { name: objectName('Name of a Developer in the same namespace.') },
        {
          description:
            "The Developer that owns the app, in the same namespace. Exactly one of developer and developerRef. A missing one makes the app ResolvedRefs=False (RefNotFound) and its keys are refused with keymanagement.service.DeveloperStatusNotActive until it exists: the app keeps its consumer keys meanwhile. Apigee: the app's developer.",
        },
      ),
    ),
    products: array(
      object(
        {
          name: objectName('Name of an ApiProduct in the same namespace.'),
          status: optional(
            enumOf(['Approved', 'Pending', 'Revoked'], {
              description:
                "Approved lets the app use the product; Pending and Revoked do not (oauth.v2.InvalidApiKeyForGivenResource). Absent: Approved when the product's approval is Auto, Pending when it is Manual (an administrator approves by writing Approved). Apigee: the credential's apiProducts[].status (approved, pending, revoked).",
            }),
          ),
        },
        { description: 'A subscription to an ApiProduct.' },
      ),
      {
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description:
          'The products the app subscribes to (at most 64, by name), tried in order: the first approved one that covers the request is used. Apigee: apiProducts.',
      },
    ),
    credentials: optional(
      array(
        object(
          {
            secretRef: described(
              secretRef,
              'Secret in the same namespace holding the credential: consumerKey (the API key) and optionally consumerSecret. Label it gatehouse.dev/credential so the operator sees it. Only keyed hashes reach the data plane. Apigee: consumerKey, consumerSecret.',
            ),
            status: optional(
              enumOf(['Approved', 'Revoked'], {
                default: 'Approved',
                description:
                  "Approved (default) or Revoked: a revoked key is refused. Apigee: the credential's status.",
              }),
            ),
            expiresAt: optional(
              string({
                format: 'date-time',
                description:
                  'RFC 3339 time after which the key is refused (keymanagement.service.consumer_key_expired); absent: never. Apigee: expiresAt.',
              }),
            ),
          },
          { description: 'One API key of the app.' },
        ),
        {
          maxItems: 16,
          description:
            "The app's API keys (at most 16). A key belongs to one app: a key already used by another app is refused (Accepted=False, DuplicateCredential). Apigee: credentials.",
        },
      ),
    ),
    status: optional(
      enumOf(['Approved', 'Revoked'], {
        default: 'Approved',
        description: "Approved (default) or Revoked: Revoked refuses every key of the app. Apigee: the app's status.",
      }),
    ),
    attributes: optional(
      described(
        attributes,
        'Free-form name/value pairs; VerifyAPIKey sets each as the flow variable app.<name>. Apigee: attributes.',
      ),
    ),
    callbackUrl: optional(
      string({
        maxLength: 2048,
        pattern: '^https?://',
        description:
          'http(s) URL for OAuth redirects: OAuthV2 GenerateAuthorizationCode redirects only here, and refuses any other redirect_uri. Apigee: callbackUrl.',
      }),
    ),
  },
  {
    description:
      'A developer app: a consumer of APIs, with the products it subscribes to and its API keys (held in Secrets). Apigee: a developer app.',
    rules: [
      {
        rule: 'has(self.developer) != has(self.developerRef)',
        message: 'exactly one of developer and developerRef must be set',
        check: (v) => (v.developer === undefined) !== (v.developerRef === undefined),
      },
    ],
  },
);
export type DeveloperAppSpec = Infer<typeof developerAppSpec>;

export const developerAppStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this DeveloperApp, written by the operator.' },
);
