// Type test of `require('shm-queue')` from CommonJS (require(esm), Node >= 20.19): TypeScript's
// node20/nodenext module mode resolves it through the same `exports` entry. Only type-checked.
import shm = require('shm-queue');

const q: shm.Queue<string> = shm.Queue.open<string>('jobs');
const value: Promise<string> = q.get();
const removed: boolean = shm.Queue.unlink('jobs');

export = { value, removed };
