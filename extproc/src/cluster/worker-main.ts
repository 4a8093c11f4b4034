// The program node:cluster starts for each worker of `gatehouse extproc --workers N` (cluster/primary.ts).
import { runWorker } from './worker.ts';

const code = await runWorker();
// The drained server and closed stores leave nothing to wait for; the IPC channel would.
process.exit(code);
