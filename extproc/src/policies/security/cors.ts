// CORS: in the request phase a preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered at the gateway and never reaches the upstream; in the response phase an allowed origin
// gets the CORS response headers. Origins, methods and headers are matched from sets built at create().
import { RE2JS } from 're2js';
import type { CORSConfig } from '../../../../protos/policies/security/cors.ts';
import type { DirectResponse, PolicyContext, PolicyImplementation, StepResult } from '../../flow/types.ts';

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const DEFAULT_MAX_AGE = 1800;

interface OriginMatcher {
  any: boolean;
  exact: Set<string>;
  wildcards: RE2JS[];
}

/** "https://*.example.com": one or more subdomain labels in place of the "*". */
function compileOrigins(origins: string[]): OriginMatcher {
  const matcher: OriginMatcher = { any: false, exact: new Set(), wildcards: [] };
  for (const origin of origins.map((o) => o.toLowerCase())) {
    if (origin === '*') matcher.any = true;
    else if (origin.includes('*')) {
      const source = origin
        .split('*')
        .map((part) => RE2JS.quote(part))
        .join('[a-z0-9-]+(?:\\.[a-z0-9-]+)*');
      matcher.wildcards.push(RE2JS.compile(`^${source}$`));
    } else matcher.exact.add(origin);
  }
  return matcher;
}

function originAllowed(matcher: OriginMatcher, origin: string): boolean {
  const lower = origin.toLowerCase();
  return matcher.any || matcher.exact.has(lower) || matcher.wildcards.some((w) => w.test(lower));
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const corsPolicy: PolicyImplementation<CORSConfig> = {
  type: 'CORS',
  create(config) {
    const origins = compileOrigins(config.allowOrigins);
    const methods = (config.allowMethods ?? DEFAULT_METHODS).map((m) => m.toUpperCase());
    const methodSet = new Set(methods);
    const allowHeaders = config.allowHeaders?.map((h) => h.toLowerCase());
    const allowHeaderSet = allowHeaders && new Set(allowHeaders);
    const credentials = config.allowCredentials ?? false;
    const maxAge = String(config.maxAge ?? DEFAULT_MAX_AGE);
    const expose = config.exposeHeaders?.join(', ');

    /** "*" only when any origin is allowed and no credentials are involved (browsers refuse "*" then). */
    const allowOriginValue = (origin: string) => (origins.any && !credentials ? '*' : origin);

    const commonHeaders = (origin: string): Record<string, string> => {
      const headers: Record<string, string> = { 'access-control-allow-origin': allowOriginValue(origin) };
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      if (headers['access-control-allow-origin'] !== '*') headers.vary = 'Origin';
      return headers;
    };

    const preflight = (ctx: PolicyContext, origin: string, method: string): DirectResponse => {
      const requested = splitList(ctx.request.headers.get('access-control-request-headers')).map((h) =>
        h.toLowerCase(),
      );
      const headersOk = !allowHeaderSet || requested.every((h) => allowHeaderSet.has(h));
      if (!originAllowed(origins, origin) || !methodSet.has(method.toUpperCase()) || !headersOk) {
        // No CORS headers: the browser blocks the actual request.
        return { status: 403, headers: {}, body: '' };
      }
      const headers = commonHeaders(origin);
      headers['access-control-allow-methods'] = methods.join(', ');
      const allowed = allowHeaders ?? requested;
      if (allowed.length > 0) headers['access-control-allow-headers'] = allowed.join(', ');
      headers['access-control-max-age'] = maxAge;
      return { status: 200, headers, body: '' };
    };

    return (ctx): StepResult => {
      const origin = ctx.request.headers.get('origin');
      if (origin === undefined) return undefined;
      if (ctx.phase === 'request') {
        const method = ctx.request.headers.get('access-control-request-method');
        const isPreflight = ctx.request.method.toUpperCase() === 'OPTIONS' && method !== undefined;
        return isPreflight ? { respond: preflight(ctx, origin, method) } : undefined;
      }
      const response = ctx.response;
      if (!response || !originAllowed(origins, origin)) return undefined;
      for (const [name, value] of Object.entries(commonHeaders(origin))) {
        if (name === 'vary') response.headers.add(name, value);
        else response.headers.set(name, value);
      }
      if (expose) response.headers.set('access-control-expose-headers', expose);
      return undefined;
    };
  },
};
