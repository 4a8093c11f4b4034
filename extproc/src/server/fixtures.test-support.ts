// Test policies and a snapshot fixture for the server's tests: small policies whose behaviour the
// tests can predict (set/remove headers, deny, rewrite bodies and paths, wait), registered in a
// catalog of their own so the server is tested apart from the real policies.
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import type { PolicyCatalog } from '../config/snapshot.ts';
import { PolicyFault } from '../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyStep } from '../flow/types.ts';

type Config = Record<string, string | number | undefined>;

/** Wait steps running now, so tests can act while a flow is in flight without sleeping. */
export const waiting = { count: 0 };

const target = (ctx: PolicyContext) => (ctx.phase === 'response' ? ctx.response! : ctx.request);

const implementations: Record<string, (c: Config) => PolicyStep> = {
  SetHeader: (c) => (ctx) => {
    target(ctx).headers.set(String(c.name), ctx.variables.template(String(c.value)));
  },
  RemoveHeader: (c) => (ctx) => {
    target(ctx).headers.remove(String(c.name));
  },
  Deny: () => () => {
    throw new PolicyFault({
      status: 403,
      errorCode: 'accesscontrol.IPDeniedAccess',
      faultString: 'Access Denied for client ip',
    });
  },
  /** Reads the JSON body and writes it back with `seen: <phase>` (needs the body). */
  MarkBody: () => (ctx) => {
    const body = target(ctx).body;
    body.setJson({ ...(body.json() as object), seen: ctx.phase });
  },
  /** Sets the body without reading it (does not need the body). */
  SetBody: (c) => (ctx) => {
    target(ctx).body.setText(String(c.text), 'text/plain');
  },
  /** Reports the body size in a header (needs the body, changes only headers). */
  BodySize: () => (ctx) => {
    target(ctx).headers.set('x-body-size', String(target(ctx).body.size));
  },
  SetVerb: (c) => (ctx) => {
    ctx.request.method = String(c.verb);
  },
  SetPath: (c) => (ctx) => {
    ctx.request.path = String(c.path);
  },
  Wait: (c) => async () => {
    waiting.count++;
    try {
      await new Promise((r) => setTimeout(r, Number(c.ms)));
    } finally {
      waiting.count--;
    }
  },
  Crash: () => () => {
    throw new TypeError('boom');
  },
  /** Logs `msg` through the step's logger. */
  Log: (c) => (ctx) => {
    ctx.log.info(String(c.msg));
  },
  /** Sets a flow variable (e.g. developer.app.name, as a credential policy would). */
  SetVariable: (c) => (ctx) => {
    ctx.variables.set(String(c.name), String(c.value));
  },
};

const NEEDS_BODY = new Set(['MarkBody', 'BodySize']);

export const testCatalog: PolicyCatalog = {
  registry: new Map(
    Object.entries(implementations).map(([type, make]): [string, PolicyImplementation<never>] => [
      type,
      { type, create: (config: never) => make(config) },
    ]),
  ),
  bodyNeeds: (type) => NEEDS_BODY.has(type),
};

export const policy = (type: string, config: Config = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
});

export function proxy(name: string, p: Proxy): Proxy {
  return {
    namespace: 'shop',
    name,
    route: `shop/${name}`,
    basePath: `/${name}`,
    targetUrl: 'http://upstream.test',
    ...p,
  };
}

export function testSnapshot(version = 'v1', extra: Proxy[] = []): RuntimeSnapshot {
  return {
    version,
    dataPlanes: [{ namespace: 'shop', name: 'eu', region: 'eu-west' }],
    proxies: [
      proxy('headers', {
        policies: {
          add: policy('SetHeader', { name: 'x-added', value: 'yes' }),
          strip: policy('RemoveHeader', { name: 'x-internal' }),
          ip: policy('SetHeader', { name: 'x-client-ip', value: '{client.ip}' }),
          id: policy('SetHeader', { name: 'x-message-id', value: '{messageid}' }),
          env: policy('SetHeader', { name: 'x-env', value: '{environment.name}' }),
          served: policy('SetHeader', { name: 'x-served-by', value: 'gatehouse {response.status.code}' }),
          version: policy('SetHeader', { name: 'x-version', value: version }),
        },
        flows: {
          preFlow: {
            request: [{ policy: 'add' }, { policy: 'strip' }, { policy: 'ip' }, { policy: 'id' }, { policy: 'env' }],
          },
          postFlow: { response: [{ policy: 'served' }, { policy: 'version' }, { policy: 'strip' }] },
        },
      }),
      proxy('deny', { policies: { deny: policy('Deny') }, flows: { preFlow: { request: [{ policy: 'deny' }] } } }),
      proxy('body', {
        policies: { mark: policy('MarkBody') },
        flows: { preFlow: { request: [{ policy: 'mark' }], response: [{ policy: 'mark' }] } },
      }),
      proxy('size', { policies: { size: policy('BodySize') }, flows: { preFlow: { request: [{ policy: 'size' }] } } }),
      proxy('replace', {
        policies: { set: policy('SetBody', { text: 'replaced' }) },
        flows: { preFlow: { request: [{ policy: 'set' }] } },
      }),
      proxy('protected', {
        policies: {
          host: policy('SetHeader', { name: 'host', value: 'upstream.internal' }),
          envoy: policy('SetHeader', { name: 'x-envoy-original-path', value: '/evil' }),
        },
        flows: { preFlow: { request: [{ policy: 'host' }, { policy: 'envoy' }] } },
      }),
      proxy('rehost', {
        policies: {
          host: policy('SetHeader', { name: 'host', value: 'upstream.internal' }),
          verb: policy('SetVerb', { verb: 'PUT' }),
        },
        flows: { preFlow: { request: [{ policy: 'host' }, { policy: 'verb' }] } },
      }),
      proxy('drop-envoy', {
        policies: { drop: policy('RemoveHeader', { name: 'x-envoy-expected-rq-timeout-ms' }) },
        flows: { preFlow: { request: [{ policy: 'drop' }] } },
      }),
      proxy('note', {
        policies: { note: policy('SetHeader', { name: 'x-note', value: '{request.queryparam.note}' }) },
        flows: { preFlow: { request: [{ policy: 'note' }] } },
      }),
      proxy('rewrite', {
        policies: { path: policy('SetPath', { path: '/internal/v2' }) },
        flows: { preFlow: { request: [{ policy: 'path' }] } },
      }),
      proxy('slow', {
        policies: {
          wait: policy('Wait', { ms: 150 }),
          version: policy('SetHeader', { name: 'x-version', value: version }),
        },
        flows: { preFlow: { request: [{ policy: 'wait' }, { policy: 'version' }] } },
      }),
      proxy('crash', { policies: { crash: policy('Crash') }, flows: { preFlow: { request: [{ policy: 'crash' }] } } }),
      ...extra,
    ],
  };
}
