import { describe, expect, it } from 'vitest';
import type { CORSConfig } from '../../../../protos/policies/security/cors.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { StepResult } from '../../flow/types.ts';
import { corsPolicy } from './cors.ts';

const meta = { namespace: 'shop', name: 'cors' };
const config: CORSConfig = {
  allowOrigins: ['https://app.example.com', 'https://*.example.org'],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['content-type', 'x-api-key'],
  exposeHeaders: ['x-request-id'],
  maxAge: 600,
};

function run(c: CORSConfig, opts: PolicyContextOptions) {
  const ctx = makePolicyContext(opts);
  // CORS answers synchronously; the cast narrows PolicyStep's sync-or-async result.
  return { ctx, result: corsPolicy.create(c, meta)(ctx) as StepResult };
}

const preflight = (origin: string, method = 'POST', headers = 'Content-Type') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
});

describe('CORS', () => {
  it('answers an allowed preflight at the gateway', () => {
    const { result } = run(config, preflight('https://app.example.com'));
    expect(result).toEqual({
      respond: {
        status: 200,
        body: '',
        headers: {
          'access-control-allow-origin': 'https://app.example.com',
          vary: 'Origin',
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'content-type, x-api-key',
          'access-control-max-age': '600',
        },
      },
    });
  });

  it('matches wildcard subdomains, case-insensitively', () => {
    expect(run(config, preflight('https://a.b.example.org')).result?.respond.status).toBe(200);
    expect(run(config, preflight('HTTPS://API.EXAMPLE.ORG')).result?.respond.status).toBe(200);
    expect(run(config, preflight('https://example.org')).result?.respond.status).toBe(403);
    expect(run(config, preflight('https://evil.com/.example.org')).result?.respond.status).toBe(403);
  });

  it.each([
    ['origin', preflight('https://evil.example.com')],
    ['method', preflight('https://app.example.com', 'DELETE')],
    ['header', preflight('https://app.example.com', 'POST', 'x-secret')],
  ])('refuses a preflight with a disallowed %s without CORS headers', (_what, opts) => {
    expect(run(config, opts).result).toEqual({ respond: { status: 403, headers: {}, body: '' } });
  });

  it('echoes requested headers when allowHeaders is not configured, and "*" for any origin', () => {
    const { result } = run({ allowOrigins: ['*'] }, preflight('https://x.test', 'PUT', 'X-One, X-Two'));
    expect(result?.respond.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'x-one, x-two',
      'access-control-max-age': '1800',
    });
    expect(result?.respond.headers.vary).toBeUndefined();
  });

  it('reflects the origin with credentials even when any origin is allowed', () => {
    const { result } = run({ allowOrigins: ['*'], allowCredentials: true }, preflight('https://x.test', 'GET'));
    expect(result?.respond.headers).toMatchObject({
      'access-control-allow-origin': 'https://x.test',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });

  it('lets non-preflight requests through in the request phase', () => {
    expect(run(config, { method: 'OPTIONS', headers: { origin: 'https://app.example.com' } }).result).toBeUndefined();
    expect(run(config, { method: 'GET', headers: { origin: 'https://app.example.com' } }).result).toBeUndefined();
    expect(run(config, { method: 'OPTIONS' }).result).toBeUndefined();
  });

  it('adds CORS headers to the response of an allowed origin', () => {
    const { ctx, result } = run(config, {
      headers: { origin: 'https://app.example.com' },
      response: { headers: { vary: 'Accept-Encoding' } },
    });
    expect(result).toBeUndefined();
    const headers = ctx.response!.headers;
    expect(headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(headers.get('access-control-expose-headers')).toBe('x-request-id');
    expect(headers.getAll('vary')).toEqual(['Accept-Encoding', 'Origin']);
  });

  it('adds nothing to the response of another origin or of a request without Origin', () => {
    for (const headers of [{ origin: 'https://evil.test' }, {}] as Array<Record<string, string>>) {
      const { ctx } = run(config, { headers, response: {} });
      expect(ctx.response!.headers.has('access-control-allow-origin')).toBe(false);
    }
  });
});
