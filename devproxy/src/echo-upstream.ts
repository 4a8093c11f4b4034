// The demo upstream of `gatehouse dev` and of the tests: answers every request with what it
// received (method, path, headers, body) as JSON, so a caller sees what the proxy forwarded.
import { createServer, type Server } from 'node:http';

export interface EchoReply {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function createEchoUpstream(name = 'echo'): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply: EchoReply = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name, 'x-internal': 'secret-build-42' });
      res.end(`${JSON.stringify(reply, null, 2)}\n`);
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
