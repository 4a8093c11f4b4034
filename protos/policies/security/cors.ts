// CORS: answers preflight requests at the gateway (request phase) and adds the CORS response headers
// to actual responses (response phase). Place the step in both phases, or in the request phase only
// when the upstream already sets the response headers.
import type { PolicyTypeSpec } from '../index.ts';
import { stringList } from '../schema.ts';

export interface CORSConfig {
  /** "https://app.example.com", "https://*.example.com" (any subdomain) or "*" (any origin). */
  allowOrigins: string[];
  /** Default GET, HEAD, POST, PUT, PATCH, DELETE. */
  allowMethods?: string[];
  /** Request headers a preflight may ask for; default: whatever it asks for is echoed. */
  allowHeaders?: string[];
  exposeHeaders?: string[];
  /** Seconds a browser may cache a preflight answer; default 1800. */
  maxAge?: number;
  allowCredentials?: boolean;
}

export const cors: PolicyTypeSpec = {
  type: 'CORS',
  member: 'cors',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'CORS: answers preflight requests at the gateway (request step) and adds the CORS headers to responses (response step). Apigee: <CORS>.',
    required: ['allowOrigins'],
    properties: {
      allowOrigins: {
        ...stringList(
          'Origins allowed (1 to 256). Apigee: <AllowOrigins>, literals only here.',
          256,
          512,
          'An exact origin (https://app.example.com), https://*.example.com for one or more subdomain labels, or * for any origin.',
        ),
        minItems: 1,
      },
      allowMethods: stringList(
        'Methods a preflight may ask for (at most 32); default GET, HEAD, POST, PUT, PATCH, DELETE. Apigee: <AllowMethods>.',
        32,
        32,
        'An HTTP method.',
      ),
      allowHeaders: stringList(
        'Request headers a preflight may ask for (at most 128); default whatever it asks for is echoed. Apigee: <AllowHeaders>.',
        128,
        256,
        'A header name.',
      ),
      exposeHeaders: stringList(
        'Response headers scripts may read, sent as access-control-expose-headers (at most 128); default none. Apigee: <ExposeHeaders>.',
        128,
        256,
        'A header name.',
      ),
      maxAge: {
        type: 'integer',
        minimum: 0,
        maximum: 86_400,
        default: 1800,
        description:
          'Seconds a browser may cache a preflight answer (access-control-max-age), 0 to 86,400; default 1800. Apigee: <MaxAge>.',
      },
      allowCredentials: {
        type: 'boolean',
        default: false,
        description:
          'true: sends access-control-allow-credentials: true, and the origin is echoed, never *; default false. Apigee: <AllowCredentials>.',
      },
    },
  },
  needsBody: () => false,
};
