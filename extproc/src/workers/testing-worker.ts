// A pool worker for tests: the real task table plus tasks whose timing the test controls, so pool
// behaviour (full queue, budget, crash) is tested by conditions, never by sleeps.
//   test.wait   blocks until the test stores 1 in `input.flag` (an Int32Array on a SharedArrayBuffer)
//   test.spin   never returns (only the budget ends it)
//   test.exit   ends the worker thread
//   test.throw  throws
import { serve } from './serve.ts';
import { runTask } from './tasks.ts';

serve((task, input) => {
  const { flag } = input as { flag?: Int32Array };
  switch (task) {
    case 'test.wait':
      while (Atomics.load(flag!, 0) === 0) Atomics.wait(flag!, 0, 0, 1000);
      return 'released';
    case 'test.spin':
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    case 'test.exit':
      return process.exit(3);
    case 'test.throw':
      throw new RangeError('test task failed');
    default:
      return runTask(task, input);
  }
});
