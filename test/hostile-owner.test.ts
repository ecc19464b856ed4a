// Squatting, item 1 of issue 11: another local user pre-creates a queue's name (mode 0666) to read
// the victim's messages, inject its own and truncate the file for a SIGBUS. Opening checks the
// file's owner and refuses a stranger's segment with ERR_QUEUE_UNTRUSTED_OWNER naming the owner,
// unless the caller trusts that owner ({ owner: uid | userName }). And item 15: stats().fileMode
// and fileUid are right on the handle that created the queue.
import { describe, expect, it } from 'vitest';
import { Queue, QueueOwnerError } from '../src/index.js';
import { collect, okJson, uniqueName } from './helpers.js';
import { hostileUser, spawnHostile, type TestUser } from './hostile-helpers.js';

const user = hostileUser();
const attempt = (f: () => unknown): unknown => {
  try {
    const r = f();
    if (r instanceof Queue) r.close();
    return 'ok';
  } catch (error) {
    return error;
  }
};

describe('a queue squatted by another user', () => {
  it.skipIf(typeof user === 'string')(
    'is refused with ERR_QUEUE_UNTRUSTED_OWNER naming the owner; opened only when that owner is trusted',
    async () => {
      const hostile = user as TestUser;
      const name = uniqueName('squat');
      // The attacker creates the victim's queue first, world-writable, and waits for messages.
      const squatter = spawnHostile(
        `const q = Queue.create(ARGS, { mode: 0o666, codec: 'json' });
         q.putSync({ injected: true });
         console.log(JSON.stringify({ ready: true }));`,
        name,
        { user: hostile },
      );
      expect(okJson(await collect(squatter))).toEqual({ ready: true });
      for (const open of [
        () => Queue.open(name, { codec: 'json' }),
        () => Queue.create(name, { exclusive: false, codec: 'json', mode: 0o666 }),
      ]) {
        const error = attempt(open) as QueueOwnerError;
        expect(error).toBeInstanceOf(QueueOwnerError);
        expect(error).toMatchObject({
          code: 'ERR_QUEUE_UNTRUSTED_OWNER',
          ownerUid: hostile.uid,
          ownerName: hostile.name,
        });
        expect(error.message).toContain(`'${hostile.name}' (uid ${hostile.uid})`);
        expect(error.message).toContain(`owner: '${hostile.name}'`);
      }
      // Shared on purpose: trusting the owner by name or by uid opens it.
      for (const owner of [hostile.name, hostile.uid]) {
        using q = Queue.open<{ injected: boolean }>(name, { codec: 'json', owner });
        expect(q.qsize()).toBe(1);
      }
      expect(() => Queue.open(name, { owner: 'no-such-user-shmq' })).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/) }),
      );
      // Our own queues need no option.
      const mine = uniqueName('mine');
      Queue.create(mine).close();
      expect(attempt(() => Queue.open(mine))).toBe('ok');
    },
  );
});

describe('stats() of the creating handle (item 15)', () => {
  it('reports the file mode and owner uid, as every other handle does', () => {
    const name = uniqueName('mode');
    using q = Queue.create(name, { mode: 0o640 });
    using other = Queue.open(name);
    expect(q.stats()).toMatchObject({ fileMode: 0o640, fileUid: process.getuid?.() });
    expect(other.stats()).toMatchObject({ fileMode: 0o640, fileUid: process.getuid?.() });
  });
});
