// `gatehouse operator --manifests DIR --xds-port PORT` plus where Envoy reaches extproc, which the
// operator's command line cannot say yet (it compiles for 127.0.0.1:9002): the resilience suite runs
// this as its control-plane child process so extproc can take a free port.
// Usage: node e2e/dev/operator-child.ts DIR XDS_PORT EXTPROC_PORT
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/log.ts';
import { startFolderOperator } from '../../operator/src/main.ts';

const [manifests, xdsPort, extprocPort] = process.argv.slice(2);
const log = createLogger('operator');
const operator = await startFolderOperator({
  manifests: manifests!, xdsPort: Number(xdsPort), host: '127.0.0.1', log, extProc: { host: '127.0.0.1', port: Number(extprocPort) }, debounceMs: 50,
});
log.info({ xdsPort: operator.xdsPort }, 'operator serving (folder mode)');
const lifecycle = new Lifecycle(log);
lifecycle.onStop('folder operator', () => operator.stop());
await lifecycle.handleSignals();
