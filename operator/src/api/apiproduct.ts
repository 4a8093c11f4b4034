// ApiProduct (docs/architecture.md#the-api): a bundle of proxies, resource paths and methods that apps subscribe to, with an
// optional quota the Quota policy can use (useProductQuota).
import { attributes, objectName, compiledStatusBase, timeUnits } from './common.ts';
import { array, described, enumOf, integer, object, optional, string, type Infer } from './schema.ts';

export const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

export const apiProductSpec = object(
  {
    displayName: optional(
      string({ maxLength: 256, description: 'Name shown to people (at most 256 characters). Apigee: displayName.' }),
    ),
    proxies: array(objectName('Name of an ApiProxy in the same namespace.'), {
      minItems: 1,
      maxItems: 256,
      'x-kubernetes-list-type': 'set',
      description:
        'The ApiProxies this product covers, in the same namespace (1 to 256). A missing or rejected one makes the product ResolvedRefs=False. Apigee: proxies.',
    }),
    resources: optional(
      array(
        string({
          maxLength: 512,
          pattern: '^/',
          description:
            'A path pattern starting with /, matched against proxy.pathsuffix: "/" the base path alone, "/*" one segment, "/**" any depth, "/orders/*" one segment under /orders.',
        }),
        {
          maxItems: 64,
          description:
            'Path patterns, relative to the proxy base path, that the product covers (at most 64); absent: "/**", everything. Apigee: apiResources.',
        },
      ),
    ),
    methods: optional(
      array(enumOf(httpMethods, { description: 'An HTTP method, uppercase.' }), {
        maxItems: 9,
        'x-kubernetes-list-type': 'set',
        description: 'HTTP methods the product covers; empty or absent: every method.',
      }),
    ),
    quota: optional(
      object(
        {
          limit: integer({
            minimum: 1,
            format: 'int64',
            description: 'Requests allowed per interval × timeUnit (at least 1); apiproduct.developer.quota.limit.',
          }),
          interval: optional(
            integer({
              minimum: 1,
              default: 1,
              format: 'int64',
              description: 'Window length in timeUnits (at least 1, default 1); apiproduct.developer.quota.interval.',
            }),
          ),
          timeUnit: enumOf(timeUnits, {
            description:
              'Unit of interval: second, minute, hour, day, week or month; apiproduct.developer.quota.timeunit.',
          }),
        },
        {
          description:
            'The quota a Quota policy with useProductQuota enforces for apps of this product; VerifyAPIKey sets it as the apiproduct.developer.quota.* flow variables. Apigee: quota, quotaInterval, quotaTimeUnit.',
        },
      ),
    ),
    scopes: optional(
      array(string({ maxLength: 256, description: 'An OAuth scope name.' }), {
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
        description:
          "OAuth scopes of the product (at most 64). The keys of an app get the scopes of all its Approved products (VerifyAPIKey's verifyapikey.<policy>.scope; OAuthV2 narrows token scopes to them). Apigee: scopes.",
      }),
    ),
    approval: optional(
      enumOf(['Auto', 'Manual'], {
        default: 'Auto',
        description:
          "How subscriptions are approved: Auto (default) or Manual. A DeveloperApp's subscription without a status is Approved for Auto and Pending for Manual (refused with oauth.v2.InvalidApiKeyForGivenResource until an administrator writes status: Approved). Apigee: approvalType (auto, manual).",
      }),
    ),
    attributes: optional(
      described(
        attributes,
        'Free-form name/value pairs; VerifyAPIKey sets each as the flow variable apiproduct.<name>. Apigee: attributes.',
      ),
    ),
  },
  {
    description:
      "An API product: the proxies, paths and methods an app subscribed to it may call, and an optional quota. VerifyAPIKey accepts a key when one of its app's approved products covers the request. Apigee: an API product.",
  },
);
export type ApiProductSpec = Infer<typeof apiProductSpec>;

export const apiProductStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this ApiProduct, written by the operator.' },
);
