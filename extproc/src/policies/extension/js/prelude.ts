// Apigee's JavaScript object model (docs/policies.md#javascript), written in JavaScript and evaluated in
// each fresh QuickJS context before the policy's scripts. Every object is a thin face over one host
// function, `__gh(op, argsJson)`, which the sandbox installs and this code takes away from the global
// scope: values cross as JSON text only, so no host object, prototype or function ever reaches a script.
// Names and shapes follow Apigee's "JavaScript object model" reference: context (flow, session,
// getVariable, setVariable, removeVariable, proxyRequest, targetRequest, proxyResponse, targetResponse),
// request and response (headers, queryParams, method, url, content, body.asJSON, status), crypto
// (getSHA1, getSHA256, getSHA512, getMD5, getHash with update/digest/digest64), print, properties,
// httpClient (get, send, with an optional callback) and Request, exchanges (waitForComplete, isComplete,
// isSuccess, isError, getResponse, getError).
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

  // httpClient (Apigee's "Making JavaScript callouts with httpClient"): send and get start the call on
  // the event loop through the egress client and return an exchange at once; waitForComplete blocks the
  // script (not the event loop) until it completes or the time limit runs out.
  function Request(url, method, headers, body) {
    if (!(this instanceof Request)) return new Request(url, method, headers, body);
    this.url = url === undefined ? '' : String(url);
    this.method = method === undefined || method === null ? 'GET' : String(method).toUpperCase();
    this.headers = headers && typeof headers === 'object' ? headers : {};
    this.body = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  }
  const answered = (r) => {
    const asJSON = { get: () => (r.content === '' ? null : JSON.parse(r.content)) };
    // Apigee scripts read response.content.asJSON: content is a String object carrying asJSON (it
    // converts to its text wherever a string is expected: JSON.parse, +, template literals).
    const content = Object.defineProperty(new String(r.content), 'asJSON', asJSON);
    return Object.freeze({
      status: r.status,
      reasonPhrase: r.reasonPhrase,
      headers: Object.freeze(r.headers),
      content: Object.freeze(content),
      body: Object.freeze(Object.defineProperty({}, 'asJSON', asJSON)),
    });
  };
  const pending = [];
  const exchangeOf = (id) => {
    let state = { complete: false };
    let response;
    const settle = (s) => {
      if (s && s.complete && !state.complete) {
        state = s;
        if (s.response) response = answered(s.response);
      }
    };
    const poll = () => {
      if (!state.complete) settle(call('http.state', id));
    };
    return Object.freeze({
      waitForComplete: (ms) => {
        if (!state.complete) settle(call('http.wait', id, typeof ms === 'number' && ms >= 0 ? ms : null));
        poll();
        return state.complete;
      },
      isComplete: () => (poll(), state.complete),
      isSuccess: () => (poll(), state.complete && !state.error),
      isError: () => (poll(), state.complete && !!state.error),
      getResponse: () => (poll(), response),
      getError: () => (poll(), state.error),
    });
  };
  const headerPairs = (headers) => {
    const pairs = [];
    for (const name of Object.keys(headers || {})) {
      const v = headers[name];
      for (const one of Array.isArray(v) ? v : [v]) pairs.push([String(name), String(one)]);
    }
    return pairs;
  };
  const send = (request, callback) => {
    const r = request instanceof Request ? request : new Request(request && request.url, request && request.method, request && request.headers, request && request.body);
    const exchange = exchangeOf(call('http.send', r.url, r.method, headerPairs(r.headers), r.body));
    if (typeof callback === 'function') pending.push({ exchange, callback });
    return exchange;
  };
  const httpClient = Object.freeze({
    send: (request, callback) => send(request, callback),
    get: (url, callback) => send(new Request(url, 'GET'), callback),
  });
  // Called by the sandbox after the scripts: each callback gets (response, error) once its call completes.
  const runCallbacks = () => {
    while (pending.length > 0) {
      const { exchange, callback } = pending.shift();
      exchange.waitForComplete();
      if (exchange.isSuccess()) callback(exchange.getResponse(), undefined);
      else callback(undefined, exchange.isComplete() ? exchange.getError() : 'the call did not complete');
    }
  };

  const constant = (value) => ({ value, writable: false, enumerable: true, configurable: false });
  Object.defineProperties(globalThis, {
    context: constant(context),
    request: constant(request),
    response: constant(response),
    crypto: constant(crypto),
    print: constant(print),
    httpClient: constant(httpClient),
    Request: constant(Request),
    __ghCallbacks: { value: runCallbacks, writable: false, enumerable: false, configurable: false },
  });
  Object.defineProperty(globalThis, 'properties', {
    get: () => (properties ??= Object.freeze(call('properties'))),
    enumerable: true,
    configurable: false,
  });
})();
`;
