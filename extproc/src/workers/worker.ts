// One thread of the worker pool (pool.ts): runs the task table (tasks.ts). See serve().
import { serve } from './serve.ts';
import { runTask } from './tasks.ts';

serve(runTask);
