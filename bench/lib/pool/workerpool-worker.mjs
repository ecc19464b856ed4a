// workerpool's worker script (workerType 'process': a child_process.fork child).
import workerpool from 'workerpool';
import { echo, size } from './tasks.mjs';

workerpool.worker({ echo, size });
