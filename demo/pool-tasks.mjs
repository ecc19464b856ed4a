// The task module of part 3: ordinary exported functions. The pool's worker processes import it;
// a Queue argument arrives opened.
const who = () => `[worker pid ${process.pid}]`;

export async function writeQueue(queue) {
  for (let i = 0; i < 10; i++) {
    if (queue.full()) break;
    await queue.put(i);
    console.log(`${who()} writeQueue: put ${i}; qsize() = ${queue.qsize()}`);
  }
  console.log(`${who()} writeQueue: full() = ${queue.full()}, returning`);
}

export async function readQueue(queue) {
  const out = [];
  while (queue.qsize() > 0) out.push(await queue.get());
  console.log(`${who()} readQueue: got ${JSON.stringify(out)}`);
  return out;
}

export const square = (x) => x * x;
