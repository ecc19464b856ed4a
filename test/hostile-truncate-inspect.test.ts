// Inspecting another user's queue while that user truncates it. `shm-queue ls/stat` and
// inspectQueue() read queues of any owner, so the owner check does not protect them: the owner
// can shrink the file at any moment. Inspection reads a private copy of the header with pread and
// never maps the file, so the inspecting process gets stats or a typed error, never SIGBUS.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { collect, okJson, spawnNode, uniqueName } from './helpers.js';
import { hostileUser, spawnHostile, type TestUser } from './hostile-helpers.js';

const user = hostileUser();

// The owner's attack: drop the whole file and put it back, header included, as fast as it can.
const TRUNCATE_LOOP = `
import os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
size = os.fstat(fd).st_size
header = os.pread(fd, 4096, 0)
print('ready', flush=True)
while True:
    os.ftruncate(fd, 0)
    os.ftruncate(fd, size)
    os.pwrite(fd, header, 0)
`;

describe("inspecting a queue whose owner truncates it (another user's mischief)", () => {
  it.skipIf(typeof user === 'string')(
    'inspectQueue, listQueues and stat return stats or typed errors, and the process never dies of SIGBUS',
    async () => {
      const hostile = user as TestUser;
      const name = uniqueName('trunc');
      const creator = spawnHostile(
        `const q = Queue.create(ARGS, { mode: 0o644, capacity: 1 << 16, codec: 'json' });
         q.putSync({ n: 1 });
         console.log(JSON.stringify({ ready: true }));`,
        name,
        { user: hostile },
      );
      expect(okJson(await collect(creator))).toEqual({ ready: true });
      const truncator = spawn('python3', ['-c', TRUNCATE_LOOP, `/dev/shm/shm-queue.${name}`], {
        uid: hostile.uid,
        gid: hostile.gid,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          truncator.stdout.once('data', () => resolve());
          truncator.once('exit', (code) => reject(new Error(`truncator exited with ${code}`)));
        });
        const inspector = spawnNode(
          `const outcomes = {};
           const note = (k) => { outcomes[k] = (outcomes[k] ?? 0) + 1; };
           for (let i = 0; i < 3000; i++) {
             try {
               const s = shm.inspectQueue(ARGS);
               note(s.capacity === 1 << 16 ? 'stats' : 'wrong-capacity');
             } catch (error) {
               note(error.code ?? 'untyped:' + error.message);
             }
             if (i % 10 === 0) {
               try { shm.listQueues(); note('list'); } catch (error) { note('list:' + (error.code ?? error.message)); }
             }
           }
           console.log(JSON.stringify(outcomes));`,
          name,
        );
        const r = await collect(inspector, 120_000);
        expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
        const outcomes = okJson(r) as Record<string, number>;
        // Every inspection ended in stats or one of the typed refusals of a damaged or unfinished
        // segment (seen when the read fell between the truncation and the rewrite).
        const allowed = new Set(['stats', 'list', 'ERR_QUEUE_CORRUPT', 'ERR_QUEUE_INCOMPATIBLE']);
        expect(Object.keys(outcomes).filter((k) => !allowed.has(k))).toEqual([]);
        expect(outcomes['stats']).toBeGreaterThan(0);
        expect(outcomes['list']).toBe(300);
      } finally {
        truncator.kill('SIGKILL');
        spawn('rm', ['-f', `/dev/shm/shm-queue.${name}`]);
      }
    },
    180_000,
  );
});
