// Apigee's JavaScript object model (docs/policies.md#javascript), written in JavaScript and evaluated in
// each fresh QuickJS context before the policy's scripts. Every object is a thin face over one host
// function, `__gh(op, argsJson)`, which the sandbox installs and this code takes away from the global
// scope: values cross as JSON text only, so no host object, prototype or function ever reaches a script.
// Names and shapes follow Apigee's "JavaScript object model" reference: context (flow, session,
// getVariable, setVariable, removeVariable, proxyRequest, targetRequest, proxyResponse, targetResponse),
// request and response (headers, queryParams, method, url, content, body.asJSON, status), crypto
// (getSHA1, getSHA256, getSHA512, getMD5, getHash with update/digest/digest64), print, properties.
export const PRELUDE = String.raw`
(function () {
  'use strict';
  const host = globalThis.__gh;
  delete globalThis.__gh;
  const call = (op, ...args) => {
    const reply = JSON.parse(host(op, JSON.stringify(args)));
    if ('e' in reply) throw new Error(reply.e);
    return reply.v;
  };
  // Built before the run it serves (sandbox.ts keeps one ready): what is the run's is asked for when read.
  let properties;
  const text = (v) => (v === undefined || v === null ? null : typeof v === 'object' ? String(v) : v);

  // A map-like face (headers, queryParams, session): reads, writes, deletes and enumeration go to the host.
  const mapFace = (get, set, names, asText = true) =>
    new Proxy(Object.create(null), {
      get: (_, name) => (typeof name === 'string' ? (get(name) ?? undefined) : undefined),
      set: (_, name, value) => {
        if (typeof name !== 'string') return false;
        set(name, value === undefined || value === null ? null : asText ? String(value) : value);
        return true;
      },
      deleteProperty: (_, name) => {
        if (typeof name === 'string') set(name, null);
        return true;
      },
      has: (_, name) => typeof name === 'string' && get(name) !== null,
      ownKeys: () => names(),
      getOwnPropertyDescriptor: (_, name) => {
        if (typeof name !== 'string') return undefined;
        const value = get(name);
        return value === null ? undefined : { value, writable: true, enumerable: true, configurable: true };
      },
      defineProperty: () => false,
      setPrototypeOf: () => false,
    });

  const message = (which) => {
    const m = {
      headers: mapFace(
        (n) => call('msg.header', which, n),
        (n, v) => call('msg.setHeader', which, n, v),
        () => call('msg.headerNames', which),
      ),
      queryParams: mapFace(
        (n) => call('msg.query', which, n),
        (n, v) => call('msg.setQuery', which, n, v),
        () => call('msg.queryNames', which),
      ),
      body: Object.freeze({
        get asJSON() {
          const content = call('msg.get', which, 'content');
          return content === null || content === '' ? null : JSON.parse(content);
        },
      }),
    };
    for (const field of ['method', 'url', 'content', 'status']) {
      Object.defineProperty(m, field, {
        get: () => call('msg.get', which, field),
        set: (v) => call('msg.set', which, field, v === undefined || v === null ? '' : String(v)),
        enumerable: true,
      });
    }
    return Object.freeze(m);
  };

  const request = message('request');
  const response = message('response');
  const session = mapFace(
    (k) => {
      const json = call('session.get', k);
      return json === null ? null : JSON.parse(json);
    },
    (k, v) => call('session.set', k, v === null ? null : JSON.stringify(v)),
    () => call('session.keys'),
    false,
  );

  const context = Object.freeze({
    get flow() {
      return call('flow');
    },
    session,
    proxyRequest: request,
    targetRequest: request,
    proxyResponse: response,
    targetResponse: response,
    getVariable: (name) => call('var.get', String(name)),
    setVariable: (name, value) => {
      call('var.set', String(name), text(value));
    },
    removeVariable: (name) => {
      call('var.remove', String(name));
    },
  });

  const hasher = (algorithm) => {
    const parts = [];
    return Object.freeze({
      update: (value) => {
        parts.push(String(value));
      },
      digest: () => call('hash', algorithm, parts.join(''), 'hex'),
      digest64: () => call('hash', algorithm, parts.join(''), 'base64'),
    });
  };
  const algorithms = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512', MD5: 'md5' };
  const crypto = Object.freeze({
    getSHA1: () => hasher('sha1'),
    getSHA256: () => hasher('sha256'),
    getSHA512: () => hasher('sha512'),
    getMD5: () => hasher('md5'),
    getHash: (name) => {
      const algorithm = algorithms[String(name).toUpperCase()];
      if (!algorithm) throw new Error('unknown hash algorithm ' + String(name));
      return hasher(algorithm);
    },
  });

  // Once the host has all the output it keeps, print stops calling it: a printing loop costs nothing more.
  let printing = true;
  const print = (...values) => {
    if (!printing) return;
    printing = call('print', values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v))).join(' '));
  };

  const constant = (value) => ({ value, writable: false, enumerable: true, configurable: false });
  Object.defineProperties(globalThis, {
    context: constant(context),
    request: constant(request),
    response: constant(response),
    crypto: constant(crypto),
    print: constant(print),
  });
  Object.defineProperty(globalThis, 'properties', {
    get: () => (properties ??= Object.freeze(call('properties'))),
    enumerable: true,
    configurable: false,
  });
})();
`;
