// The validating admission webhook's HTTPS server, on every replica (docs/operations.md, Admission
// webhook). The certificate is the one the certificates controller issues into gatehouse-webhook-tls,
// reloaded for new handshakes when it is renewed (lib/tls/server.ts). POST /validate takes an
// AdmissionReview and answers with review.ts; anything else is answered with a status code, never a
// thrown error: a hostile or broken client gets 400, 404, 405 or 413, and the process carries on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import { TlsListener } from '../../../lib/tls/server.ts';
import { defaultTlsPolicy } from '../../../lib/tls/policy.ts';
import type { MaterialSource } from '../../../lib/tls/watcher.ts';
import { webhookPath } from '../api/names.ts';
import { AdmissionReviewError } from './errors.ts';
import { admissionApiVersion, parseReview, review } from './review.ts';

export interface AdmissionServerOptions {
  /** The serving certificate and key (no client certificates are asked for: the apiserver authenticates us). */
  source: MaterialSource;
  log: Logger;
  /** Where gatehouse_admission_reviews_total is registered. */
  registry?: Registry;
}

/** An AdmissionReview carries the object and its old version; etcd holds objects up to 1.5 MiB. */
const maxBodyBytes = 8 * 1024 * 1024;

export const reviewsMetric = 'gatehouse_admission_reviews_total';

export class AdmissionServer {
  private readonly tls: TlsListener;
  private readonly http: Server;
  private readonly log: Logger;
  private readonly reviews?: Counter<'kind' | 'operation' | 'allowed'>;
  private readonly registry?: Registry;
  /** Open connections: the HTTP server does not track sockets it did not accept itself. */
  private readonly sockets = new Set<TLSSocket>();

  constructor(options: AdmissionServerOptions) {
    this.log = options.log.child({ component: 'admission' });
    this.registry = options.registry;
    if (options.registry)
      this.reviews = new Counter({
        name: reviewsMetric,
        help: 'AdmissionReviews answered by the validating webhook, by kind, operation and whether the object was allowed',
        labelNames: ['kind', 'operation', 'allowed'],
        registers: [options.registry],
      });
    this.http = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => this.handle(req, res));
    this.http.on('clientError', (_err, socket) => socket.destroy());
    this.tls = new TlsListener({
      source: options.source,
      policy: defaultTlsPolicy,
      clientAuth: 'none',
      alpn: ['http/1.1'],
      log: this.log,
      purpose: 'admission webhook',
      onConnection: (socket: TLSSocket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        this.http.emit('connection', socket);
      },
    });
  }

  /** Resolves to the bound port (0 picks one). */
  listen(host: string, port: number): Promise<number> {
    return this.tls.listen(host, port);
  }

  /**
   * Stops accepting and closes every connection (the apiserver keeps them alive): from here on the
   * apiserver gets no answer and applies the configuration's failurePolicy.
   */
  async close(): Promise<void> {
    await this.tls.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.registry?.removeSingleMetric(reviewsMetric);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== webhookPath) return reply(res, 404, `not found; AdmissionReviews go to POST ${webhookPath}\n`);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reply(res, 405, 'method not allowed\n');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        reply(res, 413, `an AdmissionReview larger than ${maxBodyBytes} bytes\n`, true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => req.destroy());
    req.on('end', () => {
      if (!refused) void this.respond(Buffer.concat(chunks), res);
    });
  }

  private async respond(body: Buffer, res: ServerResponse): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return reply(res, 400, 'the body is not JSON\n');
    }
    try {
      const request = parseReview(parsed);
      const response = await review(request);
      this.reviews?.inc({
        kind: request.kind?.kind ?? '',
        operation: request.operation ?? '',
        allowed: String(response.allowed),
      });
      if (!response.allowed)
        this.log.debug(
          { kind: request.kind?.kind, namespace: request.namespace, name: request.name },
          'admission: object refused',
        );
      const out = JSON.stringify({ apiVersion: admissionApiVersion, kind: 'AdmissionReview', response });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch (err) {
      if (err instanceof AdmissionReviewError) return reply(res, 400, `${err.message}\n`);
      // A bug of ours: the apiserver applies the configuration's failurePolicy to a 500.
      this.log.error({ err: (err as Error).message }, 'admission: review failed');
      reply(res, 500, 'internal error\n');
    }
  }
}

function reply(res: ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...(close ? { connection: 'close' } : {}) });
  res.end(text);
}
