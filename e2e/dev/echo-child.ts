// The demo echo upstream as a child process of the resilience suite. Usage: node e2e/dev/echo-child.ts PORT
import { createEchoUpstream, listenEcho } from '../../devproxy/src/echo-upstream.ts';

const server = createEchoUpstream();
await listenEcho(server, '127.0.0.1', Number(process.argv[2]));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
