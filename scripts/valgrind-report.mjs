// Reads a memcheck log and fails if any error or definite leak record has a frame in our addon.
import { readFileSync } from 'node:fs';

const log = readFileSync(process.argv[2], 'utf8');
const records = [];
let current = null;
for (const raw of log.split('\n')) {
  const line = raw.replace(/^==\d+== ?/, '');
  if (line === '') {
    if (current) records.push(current);
    current = null;
  } else if (current) {
    current.push(line);
  } else if (
    !/^(Memcheck|Copyright|Using Valgrind|Command|Parent PID|HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|For lists|For counts|Rerun with|To see them|in use at exit|total heap usage| {3}(definitely|indirectly|possibly) lost| {3}still reachable| {8}suppressed|\s+of which reachable)/.test(
      line,
    )
  ) {
    current = [line];
  }
}
const ours = records.filter((r) => r.some((l) => /shm_queue\.node|native\//.test(l)));
const summary = /ERROR SUMMARY: (\d+) errors/.exec(log);
const definite = /definitely lost: ([\d,]+) bytes in ([\d,]+) blocks/.exec(log);
console.log(
  `valgrind: ${summary ? summary[1] : '?'} error(s) in the whole process (Node/V8 included), ` +
    `definitely lost ${definite ? definite[1] : '0'} bytes overall; records with a frame in shm-queue: ${ours.length}`,
);
for (const r of ours) console.log(`\n${r.join('\n')}`);
process.exit(ours.length === 0 ? 0 : 1);
