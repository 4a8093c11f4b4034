// A small raw-JSON client for the apiserver. Everything the operator does goes through it, watches
// included, so objects arrive exactly as the apiserver wrote them: client-node's typed serializer drops
// fields it does not know (our CRDs' specs, new upstream fields) and turns timestamps into Dates, which
// breaks comparing and patching. Authentication and TLS come from the KubeConfig on every request (so
// rotated service account tokens and exec credentials are picked up); connections are kept alive.
import * as http from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { KubeApiError, KubeConnectionError, KubeProtocolError } from './errors.ts';
import type { KubeMetrics } from './metrics.ts';

export { KubeApiError, isAlreadyExists, isConflict, isForbidden, isGone, isNotFound } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  /** The Accept header (default application/json), e.g. for metadata-only lists. */
  accept?: string;
  query?: Query;
  /** Overrides the client's timeout for this request (whole exchange, body included). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T = k8s.KubernetesObject> {
  type: WatchEventType;
  object: T;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** The stream is cut (KubeConnectionError, timedOut) when nothing arrives for this long. */
  idleTimeoutMs?: number;
}

export interface KubeRestOptions {
  userAgent?: string;
  /** Default timeout of a request, whole exchange (default 30 s). Watches have their own idle timeout. */
  timeoutMs?: number;
  /** Page size of list() (default 500, as client-go's pager). */
  pageSize?: number;
  metrics?: KubeMetrics;
}

export interface ResourceRef {
  group?: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** '/api/v1/namespaces/ns/pods/name/status' or '/apis/group/version/...'. */
export function resourcePath(ref: ResourceRef): string {
  let path = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${ref.resource}`;
  if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
  if (ref.subresource) path += `/${ref.subresource}`;
  return path;
}

/** metav1.MicroTime's wire format: 2006-01-02T15:04:05.000000Z. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

export class KubeRest {
  readonly kc: k8s.KubeConfig;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly metrics?: KubeMetrics;
  private agent?: { key: string; agent: http.Agent };

  constructor(kc: k8s.KubeConfig, options: KubeRestOptions = {}) {
    this.kc = kc;
    this.userAgent = options.userAgent ?? 'gatehouse-operator';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pageSize = options.pageSize ?? 500;
    this.metrics = options.metrics;
  }

  /** Closes the kept-alive connections (a command that is done with the apiserver). */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  /** The apiserver URL of the current context. */
  get server(): string {
    return this.kc.getCurrentCluster()!.server;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await this.send(
      method,
      path,
      options.query,
      headers,
      payload,
      options.timeoutMs ?? this.timeoutMs,
      options.signal,
    );
    const text = res.body;
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KubeProtocolError(`${method} ${path}: the apiserver's answer is not JSON: ${text.slice(0, 200)}`, err);
    }
  }

  get<T>(path: string, options?: Omit<RequestOptions, 'body'>): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  /** Lists a collection, following `continue` pages; items carry apiVersion and kind like watch objects do. */
  async list<T>(
    path: string,
    query: Query = {},
    options: Pick<RequestOptions, 'timeoutMs' | 'signal'> = {},
  ): Promise<KubeList<T>> {
    let page = await this.get<KubeList<T>>(path, { ...options, query: { limit: this.pageSize, ...query } });
    const items = [...(page.items ?? [])];
    const first = page;
    while (page.metadata?.continue) {
      page = await this.get<KubeList<T>>(path, {
        ...options,
        query: { ...query, limit: this.pageSize, continue: page.metadata.continue },
      });
      items.push(...(page.items ?? []));
    }
    // A list's items omit apiVersion and kind (built-in kinds); watch events carry them. Same shape for both.
    const apiVersion = first.apiVersion;
    const kind = first.kind?.endsWith('List') ? first.kind.slice(0, -4) : undefined;
    for (const item of items as k8s.KubernetesObject[]) {
      if (item.apiVersion === undefined && apiVersion) item.apiVersion = apiVersion;
      if (item.kind === undefined && kind) item.kind = kind;
    }
    return {
      apiVersion: first.apiVersion,
      kind: first.kind,
      metadata: { resourceVersion: page.metadata?.resourceVersion ?? first.metadata?.resourceVersion ?? '' },
      items,
    };
  }

  create<T>(path: string, body: unknown, options?: Omit<RequestOptions, 'body'>): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  replace<T>(path: string, body: unknown, options?: Omit<RequestOptions, 'body'>): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  mergePatch<T>(path: string, body: unknown, options?: Omit<RequestOptions, 'body' | 'contentType'>): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body, contentType: 'application/merge-patch+json' });
  }

  /** Server-side apply. The body is JSON, which is YAML, so application/apply-patch+yaml takes it as is. */
  apply<T>(
    path: string,
    body: unknown,
    options: { fieldManager: string; force?: boolean } & Omit<RequestOptions, 'body' | 'contentType'>,
  ): Promise<T> {
    const { fieldManager, force, ...rest } = options;
    return this.request<T>('PATCH', path, {
      ...rest,
      body,
      contentType: 'application/apply-patch+yaml',
      query: { ...rest.query, fieldManager, force: force ? true : undefined },
    });
  }

  async delete(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>): Promise<void> {
    await this.request('DELETE', path, { ...options, body });
  }

  /**
   * Streams a watch: calls `onEvent` for every ADDED, MODIFIED, DELETED and BOOKMARK event. Resolves
   * when the apiserver ends the stream normally (its timeoutSeconds); rejects with KubeApiError for an
   * ERROR event (410 Expired: re-list) or a non-200 answer, KubeConnectionError when the connection
   * breaks or goes idle, KubeProtocolError for a frame that is not JSON, or whatever `onEvent` threw.
   */
  async watch<T = k8s.KubernetesObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    options: WatchOptions = {},
  ): Promise<void> {
    const method = 'GET';
    const url = this.url(path, { ...query, watch: true });
    const opts = await this.prepare(method, path, { accept: 'application/json' });
    const idleMs = options.idleTimeoutMs ?? 10 * 60_000;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        options.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on unchanged what the caller's event handler threw (dispatch), which need not be an Error
        else reject(err);
      };
      const fail = (err: unknown) => {
        finish(err);
        req.destroy();
      };
      const onAbort = () =>
        fail(new KubeConnectionError({ method: 'WATCH', path, message: 'aborted', cause: options.signal?.reason }));
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () =>
            fail(
              new KubeConnectionError({ method: 'WATCH', path, message: `no data for ${idleMs} ms`, timedOut: true }),
            ),
          idleMs,
        );
      };
      const req = this.module().request(url, opts, (res) => {
        this.count('WATCH', res.statusCode ?? 0);
        if (res.statusCode !== 200) {
          readAll(res).then(
            (body) => fail(apiError('WATCH', path, res.statusCode ?? 0, res.statusMessage, body)),
            fail,
          );
          return;
        }
        touch();
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          if (settled) return;
          touch();
          buffered += chunk;
          let nl: number;
          while (!settled && (nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line.length > 0) this.dispatch(line, path, onEvent, fail);
          }
        });
        res.on('end', () => finish());
        res.on('error', (err) => fail(connectionError('WATCH', path, err)));
        res.on('close', () =>
          fail(new KubeConnectionError({ method: 'WATCH', path, message: 'the watch connection closed mid-stream' })),
        );
      });
      req.on('error', (err) => {
        if (!settled) this.count('WATCH', 0);
        fail(connectionError('WATCH', path, err));
      });
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      touch();
      req.end();
    });
  }

  private dispatch<T>(
    line: string,
    path: string,
    onEvent: (event: WatchEvent<T>) => void,
    fail: (err: unknown) => void,
  ): void {
    let event: { type?: string; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch (err) {
      fail(new KubeProtocolError(`WATCH ${path}: a frame is not JSON: ${line.slice(0, 200)}`, err));
      return;
    }
    if (event.type === 'ERROR') {
      const status = (event.object ?? {}) as Status;
      fail(
        new KubeApiError({
          method: 'WATCH',
          path,
          status: status.code ?? 500,
          reason: status.reason,
          message: status.message ?? 'watch error',
        }),
      );
      return;
    }
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED' && event.type !== 'BOOKMARK') {
      fail(new KubeProtocolError(`WATCH ${path}: unknown event type ${String(event.type)}`));
      return;
    }
    try {
      onEvent({ type: event.type, object: event.object as T });
    } catch (err) {
      fail(err);
    }
  }

  private url(path: string, query?: Query): URL {
    const server = this.server.replace(/\/+$/, '');
    const url = new URL(server + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private module(): typeof https | typeof http {
    return this.server.startsWith('http:') ? http : https;
  }

  /** Auth headers and TLS material from the KubeConfig, then our keep-alive agent carrying that TLS material. */
  private async prepare(method: string, path: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { method, headers: { ...headers, 'user-agent': this.userAgent } };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeConnectionError({
        method,
        path,
        message: `cannot authenticate: ${(err as Error).message}`,
        cause: err,
      });
    }
    // A proxy agent from client-node is kept as is; otherwise our own agent, with keep-alive.
    if (!this.kc.getCurrentCluster()?.proxyUrl) opts.agent = this.agentFor(opts);
    return opts;
  }

  private agentFor(opts: https.RequestOptions): http.Agent {
    const tls = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      servername: opts.servername,
      rejectUnauthorized: opts.rejectUnauthorized,
    };
    // TLS material can change (rotated client certificates from an exec plugin): a new agent then.
    const key = JSON.stringify(tls, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    if (this.agent?.key !== key) {
      this.agent?.agent.destroy();
      const common = { keepAlive: true, keepAliveMsecs: 30_000 };
      const agent = this.server.startsWith('http:')
        ? new http.Agent(common)
        : new https.Agent({ ...common, ...withoutUndefined(tls) });
      this.agent = { key, agent };
    }
    return this.agent.agent;
  }

  private async send(
    method: string,
    path: string,
    query: Query | undefined,
    headers: Record<string, string>,
    payload: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; body: string }> {
    const url = this.url(path, query);
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    const opts = await this.prepare(method, path, headers);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: { status: number; body: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(value!);
        else reject(err);
      };
      const fail = (err: Error) => {
        finish(err);
        req.destroy();
      };
      const onAbort = () => fail(new KubeConnectionError({ method, path, message: 'aborted', cause: signal?.reason }));
      const timer = setTimeout(
        () =>
          fail(new KubeConnectionError({ method, path, message: `no answer within ${timeoutMs} ms`, timedOut: true })),
        timeoutMs,
      );
      const req = this.module().request(url, opts, (res) => {
        const status = res.statusCode ?? 0;
        this.count(method, status);
        readAll(res).then(
          (body) => {
            if (status >= 200 && status < 300) finish(undefined, { status, body });
            else finish(apiError(method, path, status, res.statusMessage, body));
          },
          (err: unknown) => fail(connectionError(method, path, err)),
        );
      });
      req.on('error', (err) => {
        if (!settled) this.count(method, 0);
        fail(connectionError(method, path, err));
      });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  }

  private count(method: string, code: number): void {
    this.metrics?.requests.inc({ method, code: String(code) });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
    });
  });
}

function apiError(
  method: string,
  path: string,
  status: number,
  statusText: string | undefined,
  body: string,
): KubeApiError {
  let parsed: Status | undefined;
  try {
    parsed = JSON.parse(body) as Status;
  } catch {
    // Not a Status: a proxy's HTML page, an empty body.
  }
  const message =
    parsed?.kind === 'Status' && parsed.message
      ? parsed.message
      : body.trim().slice(0, 500) || statusText || 'no message';
  return new KubeApiError({
    method,
    path,
    status,
    reason: parsed?.kind === 'Status' ? parsed.reason : undefined,
    message,
  });
}

function connectionError(method: string, path: string, err: unknown): KubeConnectionError {
  if (err instanceof KubeConnectionError) return err;
  const e = err as NodeJS.ErrnoException;
  return new KubeConnectionError({ method, path, message: e.code ? `${e.code}: ${e.message}` : e.message, cause: err });
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
