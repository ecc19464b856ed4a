// The worker-thread side of roles/worker.mjs.
import { parentPort, workerData } from 'node:worker_threads';
import { ContentError, Window, checkBytes, checkObject, seqOf } from '../common.mjs';

const p = workerData;

if (p.role === 'echo') {
  parentPort.on('message', (m) => parentPort.postMessage(m));
} else {
  const bytes = p.kind === 'bytes';
  const every = p.size > 4096 ? 1 : 64;
  let win = null;
  let received = 0;
  const onMessage = (m) => {
    if (win === null) {
      win = new Window(m.tWarm); // the first message is the start signal
      return;
    }
    if (m.end !== undefined) {
      parentPort.off('message', onMessage);
      if (m.end !== received) throw new Error(`worker consumer: ${received} messages arrived, ${m.end} were sent`);
      parentPort.postMessage({ result: win.finish(received, bytes ? p.size : 0) });
      return;
    }
    if (bytes ? !checkBytes(m, received, p.size) : !checkObject(m, received)) {
      throw new ContentError('worker consumer', bytes ? seqOf(m) : m.id, received);
    }
    received++;
    if (received % p.ackEvery === 0) parentPort.postMessage({ ack: received });
    if (received % every === 0) win.tick(received);
  };
  parentPort.on('message', onMessage);
}
parentPort.postMessage('ready');
