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
    required: ['allowOrigins'],
    properties: {
      allowOrigins: {
        ...stringList('allowed origins; "*" or "https://*.example.com" wildcards', 256, 512),
        minItems: 1,
      },
      allowMethods: stringList('allowed methods', 32, 32),
      allowHeaders: stringList('allowed request headers', 128, 256),
      exposeHeaders: stringList('response headers exposed to scripts', 128, 256),
      maxAge: { type: 'integer', minimum: 0, maximum: 86_400, default: 1800 },
      allowCredentials: { type: 'boolean', default: false },
    },
  },
  needsBody: () => false,
};
