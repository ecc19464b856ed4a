#!/usr/bin/env node
// `npm run torture [-- SECONDS]`: the SIGKILL storm of test/crash.test.ts for minutes (default
// 180 s, or TORTURE_SECONDS), with 1 MiB messages mixed in. Ends with a one-line summary and exit
// status 0 only if nothing was duplicated, torn, invented or lost beyond the allowance.
import { Queue } from '../dist/index.js';
import { runStorm, stormOk, summaryLine } from './storm.mjs';

const seconds = Number(process.argv[2] ?? process.env.TORTURE_SECONDS ?? 180);
if (!(seconds > 0)) {
  console.error('usage: npm run torture -- [seconds]');
  process.exit(2);
}
const name = `torture-${process.pid}`;
try {
  const r = await runStorm({
    name,
    durationMs: seconds * 1000,
    producers: 2,
    consumers: 2,
    capacity: 4 << 20,
    maxsize: 256,
    largePermille: 5,
    largeMin: 256 * 1024,
    largeMax: 1 << 20,
    log: (m) => console.error(`torture: ${m}`),
  });
  for (const c of r.crashes) console.error(`torture: unexpected exit: ${c}`);
  console.log(summaryLine(r));
  process.exitCode = stormOk(r) ? 0 : 1;
} finally {
  Queue.unlink(name);
}
