// The demo upstream of `gatehouse dev` and of the tests: answers every request with what it
// received (method, path, headers, body, and trailers when there were any) as JSON, so a caller sees
// what the proxy forwarded. A request with trailers gets them back as response trailers (chunked).
import { createServer, type Server } from 'node:http';

export interface EchoReply {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers?: Record<string, string | undefined>;
}

export function createEchoUpstream(name = 'echo'): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const trailers = req.rawTrailers.length > 0 ? req.trailers : undefined;
      const reply: EchoReply = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        ...(trailers ? { trailers } : {}),
      };
      const text = `${JSON.stringify(reply, null, 2)}\n`;
      const headers = { 'content-type': 'application/json', 'x-upstream': name, 'x-internal': 'secret-build-42' };
      if (!trailers) {
        res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      res.writeHead(200, { ...headers, trailer: Object.keys(trailers).join(', ') });
      res.write(text);
      res.addTrailers(trailers);
      res.end();
    });
  });
}

export function listenEcho(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}
