// The `shm-queue` command, run as a user runs it: `node bin/shm-queue.js ...` in a separate
// process, checking stdout, stderr and the exit code.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Queue, type QueueInspection, type QueueListEntry } from '../src/index.js';
import {
  collect,
  lineReader,
  okJson,
  runNode,
  segmentExists,
  spawnNode,
  uniqueName,
  type ChildResult,
} from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/shm-queue.js', import.meta.url));

function cli(...args: string[]): Promise<ChildResult> {
  return collect(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), 20_000);
}

/** Creates a queue in a child process that exits: nobody has it open afterwards. */
async function orphan(name: string, values: unknown[], options: object = {}): Promise<void> {
  okJson(
    await runNode(
      `const q = Queue.create(ARGS.name, ARGS.options); for (const v of ARGS.values) q.putSync(v); q.close(); console.log('{}');`,
      { name, values, options },
    ),
  );
}

/** A child that opens `name` and stays until killed; resolves once it has the queue open. */
async function holder(name: string): Promise<{ pid: number; kill: () => Promise<ChildResult> }> {
  // globalThis keeps the handle reachable: an unreachable Queue is closed when collected.
  const child = spawnNode(
    `globalThis.q = Queue.open(ARGS); console.log('{"ready":true}'); setInterval(() => {}, 1000);`,
    name,
  );
  await lineReader(child)();
  return {
    pid: child.pid as number,
    kill: () => {
      const done = collect(child);
      child.kill('SIGKILL');
      return done;
    },
  };
}

describe('shm-queue: help, version and usage errors', () => {
  it('prints help and the version with exit code 0', async () => {
    const [main, ls, stat, peek, rm, gc, helpGc, version] = await Promise.all([
      cli('--help'),
      cli('ls', '--help'),
      cli('stat', '-h'),
      cli('peek', '--help'),
      cli('rm', '--help'),
      cli('gc', '--help'),
      cli('help', 'gc'),
      cli('--version'),
    ]);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^Usage: shm-queue <command>/);
    for (const cmd of ['ls', 'stat', 'peek', 'rm', 'gc']) expect(main.stdout).toContain(`  ${cmd} `);
    expect(main.stdout).toMatch(/Exit codes: 0 ok, 1 failure .*, 2 usage error/);
    for (const [r, cmd] of [
      [ls, 'ls'],
      [stat, 'stat'],
      [peek, 'peek'],
      [rm, 'rm'],
      [gc, 'gc'],
    ] as const) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: shm-queue ${cmd} `));
    }
    expect(helpGc.stdout).toBe(gc.stdout);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 with a pointer to --help on a bad command line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: shm-queue/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['ls', '--bogus'], /shm-queue ls: unknown option '--bogus'\nRun 'shm-queue ls --help'/],
      [['stat'], /missing queue NAME/],
      [['stat', 'a', 'b'], /exactly one NAME/],
      [['stat', 'no/slash'], /'no\/slash' is not a valid queue name/],
      [['rm'], /missing queue NAME/],
      [['peek', 'q', '-n', 'zero'], /-n must be a whole number/],
      [['gc', '--older-than', '5'], /--older-than must be a number followed by a unit/],
      [['gc', '--older-than'], /argument missing/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
    });
  });
});

describe('shm-queue ls', () => {
  it('lists each queue on one aligned line, marks orphans, and gives the same facts as --json', async () => {
    const live = uniqueName('ls');
    const idle = uniqueName('ls');
    using q = Queue.create(live, { maxsize: 10 });
    q.putManySync([1, 2, 3]);
    await orphan(idle, ['a'], { codec: 'json', capacity: 4096 });
    const pattern = `${live.slice(0, live.lastIndexOf('-'))}-*`;
    const [text, json] = await Promise.all([cli('ls', pattern), cli('ls', pattern, '--json')]);

    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME +MSGS +USED\/CAPACITY +MAXSIZE +CODEC +PROCS +WAIT-GET +WAIT-PUT +AGE +IDLE +STATUS$/,
    );
    expect(lines).toHaveLength(3);
    const row = (name: string): string => lines.find((l) => l.startsWith(`${name} `)) as string;
    expect(row(live).split(/ +/)).toEqual([
      live,
      '3',
      '48',
      'B/1',
      'MiB',
      '10',
      'msgpack',
      '1',
      '0',
      '0',
      expect.stringMatching(/^\d+s$/),
      '-',
      'ok',
    ]);
    expect(row(idle).split(/ +/)).toEqual([
      idle,
      '1',
      '16',
      'B/4',
      'KiB',
      '-',
      'json',
      '0',
      '0',
      '0',
      expect.stringMatching(/^\d+s$/),
      expect.stringMatching(/^\d+s$/),
      'orphan',
    ]);
    // Aligned: every column starts at the same offset on every line (right-aligned numbers end there).
    for (const header of ['CODEC', 'STATUS']) {
      const at = (lines[0] as string).indexOf(header);
      expect(lines.map((l) => l[at - 1])).toEqual([' ', ' ', ' ']);
      expect(lines.slice(1).map((l) => l[at])).not.toContain(' ');
    }

    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as QueueListEntry[];
    expect(entries.map((e) => e.name)).toEqual([live, idle].sort());
    const l = entries.find((e) => e.name === live) as { ok: true; stats: QueueInspection };
    expect(l).toMatchObject({ ok: true, path: `/dev/shm/shm-queue.${live}` });
    expect(l.stats).toMatchObject({
      messages: 3,
      maxsize: 10,
      codec: 'msgpack',
      idleSince: null,
      attached: [{ pid: process.pid, handles: 1 }],
    });
    const o = entries.find((e) => e.name === idle) as { ok: true; stats: QueueInspection };
    expect(o.stats).toMatchObject({ messages: 1, capacity: 4096, codec: 'json', attached: [] });
    expect(o.stats.idleSince).toEqual(expect.any(Number));
  });

  it('lists unreadable entries with a short reason instead of failing, and never crashes on garbage', async () => {
    const good = uniqueName('bad');
    const garbage = uniqueName('bad');
    const tiny = uniqueName('bad');
    const zeros = uniqueName('bad');
    const invalid = `${uniqueName('bad')} with spaces`; // not a valid queue name at all
    using _q = Queue.create(good);
    writeFileSync(`/dev/shm/shm-queue.${garbage}`, Buffer.from('garbage!'.repeat(300)));
    writeFileSync(`/dev/shm/shm-queue.${tiny}`, 'xyz');
    writeFileSync(`/dev/shm/shm-queue.${zeros}`, Buffer.alloc(2048));
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(`/dev/shm/shm-queue.${zeros}`, past, past);
    utimesSync(`/dev/shm/shm-queue.${tiny}`, past, past);
    writeFileSync(`/dev/shm/shm-queue.${invalid}`, 'x');
    try {
      const pattern = `${good.slice(0, good.lastIndexOf('-'))}-*`;
      const [text, json] = await Promise.all([cli('ls', pattern), cli('ls', '--json', pattern)]);
      expect(text.code).toBe(0);
      expect(text.stderr).toBe('');
      const lines = text.stdout.trimEnd().split('\n');
      const status = (name: string): string =>
        (lines.find((l) => l.startsWith(`${name} `)) ?? '').replace(/^.* {2}(?=\S)/, '');
      expect(lines.find((l) => l.startsWith(`${good} `))).toMatch(/ ok$/);
      expect(status(garbage)).toBe('unreadable: not a shm-queue segment');
      expect(status(tiny)).toBe('unreadable: unfinished (creator died while creating it?)');
      expect(status(zeros)).toBe('unreadable: unfinished (creator died while creating it?)');
      expect(lines.find((l) => l.startsWith(`${invalid} `))).toMatch(/unreadable: invalid queue name$/);
      const reasons = Object.fromEntries(
        (JSON.parse(json.stdout) as QueueListEntry[]).map((e) => [e.name, e.ok ? 'ok' : e.reason]),
      );
      expect(reasons).toEqual({
        [good]: 'ok',
        [garbage]: 'not-a-queue',
        [tiny]: 'unfinished',
        [zeros]: 'unfinished',
        [invalid]: 'invalid-name',
      });
    } finally {
      rmSync(`/dev/shm/shm-queue.${invalid}`, { force: true });
    }
  });
});

describe('shm-queue stat', () => {
  it('prints every counter and header fact, and the same as --json', async () => {
    const name = uniqueName('stat');
    using q = Queue.create(name, { maxsize: 5, capacity: 8192, mode: 0o640 });
    q.putSync({ hello: 'world' });
    const [text, json] = await Promise.all([cli('stat', name), cli('stat', name, '--json')]);
    expect(text.code).toBe(0);
    const fields = Object.fromEntries(
      text.stdout
        .trimEnd()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('  ')), l.slice(l.indexOf('  ')).trim()]),
    );
    expect(fields).toMatchObject({
      queue: name,
      path: `/dev/shm/shm-queue.${name}`,
      kind: 'Queue',
      codec: 'msgpack',
      messages: '1 of maxsize 5',
      'puts / gets': '1 / 0',
      attached: `pid ${process.pid} (1 handle)`,
      waiting: '0 consumers, 0 producers',
      idle: '-',
      shutdown: 'none',
      layout: 'version 2',
      'last close': 'never',
    });
    expect(fields['bytes used']).toMatch(/^24 of 8192 /);
    expect(fields['recoveries']).toMatch(/^0 /);
    expect(fields['created']).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT.*Z \\(\\d+s ago\\) by pid ${process.pid}, uid ${process.getuid?.()}$`),
    );
    expect(fields['file']).toMatch(/^mode 0640, owner uid \d+, \d+ bytes$/);

    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as QueueInspection;
    expect(s).toMatchObject({
      name,
      messages: 1,
      bytesUsed: 24,
      capacity: 8192,
      maxsize: 5,
      puts: 1,
      gets: 0,
      recoveries: 0,
      shutdown: 'none',
      fileMode: 0o640,
      creatorPid: process.pid,
      layoutVersion: 2,
      joinable: false,
    });
    expect(Object.keys(s).sort()).toEqual(Object.keys({ ...q.stats(), path: 0, joinable: 0, idleSince: 0 }).sort());
  });

  it('exits 1 with a clear message for a missing, foreign or corrupt queue', async () => {
    const missing = uniqueName('stat');
    const foreign = uniqueName('stat');
    const corrupt = uniqueName('stat');
    writeFileSync(`/dev/shm/shm-queue.${foreign}`, Buffer.from('PK\x03\x04 a zip file, say '.repeat(100)));
    Queue.create(corrupt, { capacity: 4096 }).close();
    // Keep the magic, version and READY state; scribble over the capacity (offset 24).
    const fd = openSync(`/dev/shm/shm-queue.${corrupt}`, 'r+');
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 8, 24);
    closeSync(fd);
    const [m, f, c] = await Promise.all([cli('stat', missing), cli('stat', foreign), cli('stat', corrupt, '--json')]);
    expect([m.code, f.code, c.code]).toEqual([1, 1, 1]);
    expect([m.stdout, f.stdout, c.stdout]).toEqual(['', '', '']);
    expect(m.stderr).toBe(`shm-queue stat: no queue '${missing}' (no /dev/shm/shm-queue.${missing})\n`);
    expect(f.stderr).toMatch(/^shm-queue stat: .* is not a shm-queue segment \(bad magic number\)/);
    expect(c.stderr).toMatch(
      new RegExp(
        `^shm-queue stat: queue '${corrupt}' has an impossible capacity .*Remove it with 'shm-queue rm --force ${corrupt}'`,
      ),
    );
    expect(m.stderr + f.stderr + c.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
  });
});

describe('shm-queue peek', () => {
  it('decodes the next messages with the stored codec and removes nothing', async () => {
    const name = uniqueName('peek');
    using q = Queue.create(name);
    q.putManySync([{ id: 1, at: new Date(0), tags: new Set(['x']) }, 'second', 3n, { id: 4 }]);
    const [text, json] = await Promise.all([cli('peek', name, '-n', '3'), cli('peek', name, '--json', '--count', '2')]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `queue '${name}', codec msgpack: the first 3 of 4 messages, oldest first (nothing was removed)`,
    );
    expect(lines[1]).toMatch(/^ #\s+SIZE\s+MESSAGE$/);
    expect(lines.slice(2).map((l) => l.replace(/^(#\d+)\s+\d+ B\s+/, '$1 '))).toEqual([
      "#1 { id: 1, at: 1970-01-01T00:00:00.000Z, tags: Set(1) { 'x' } }",
      "#2 'second'",
      '#3 3n',
    ]);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as {
      name: string;
      codec: string;
      total: number;
      messages: Record<string, unknown>[];
    };
    expect(r).toMatchObject({ name, codec: 'msgpack', total: 4 });
    expect(r.messages).toEqual([
      {
        index: 1,
        size: expect.any(Number),
        decoded: true,
        value: { id: 1, at: '1970-01-01T00:00:00.000Z', tags: ['x'] },
        inspect: expect.stringContaining('Set(1)'),
        base64: expect.any(String),
      },
      {
        index: 2,
        size: 7,
        decoded: true,
        value: 'second',
        inspect: "'second'",
        base64: Buffer.from([0xa6, ...Buffer.from('second')]).toString('base64'),
      },
    ]);
    expect(q.qsize()).toBe(4);
  });

  it('shows bytes with a note for a custom codec, and says when a queue is empty', async () => {
    const custom = uniqueName('peek');
    const empty = uniqueName('peek');
    using q = Queue.create(custom, {
      codec: {
        name: 'mine',
        encode: (s: string) => Buffer.from(s),
        decode: (b: Uint8Array) => Buffer.from(b).toString(),
      },
    });
    q.putSync('hello\x01world');
    using _e = Queue.create(empty, { codec: 'json' });
    const [c, e] = await Promise.all([cli('peek', custom), cli('peek', empty)]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain("note: 'mine' is a custom codec this command cannot decode");
    expect(c.stdout).toMatch(/#1 +11 B +hex 68 65 6c 6c 6f 01 77 6f 72 6c 64 {2}\|hello\.world\|/);
    expect(e.code).toBe(0);
    expect(e.stdout.trim()).toBe(`queue '${empty}', codec json: empty`);
  });
});

describe('shm-queue rm', () => {
  it('refuses while a live process has the queue open, removes with --force', async () => {
    const name = uniqueName('rm');
    await orphan(name, []);
    const h = await holder(name);
    try {
      const refused = await cli('rm', name);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `refusing to remove '${name}': 1 live process (pid ${h.pid}) has it open. Use --force`,
      );
      expect(segmentExists(name)).toBe(true);
      const forced = await cli('rm', '--force', name);
      expect(forced.code).toBe(0);
      expect(forced.stdout.trim()).toBe(`removed ${name} (1 live process (pid ${h.pid}) still has it open)`);
      expect(segmentExists(name)).toBe(false);
    } finally {
      await h.kill();
    }
  });

  it('removes idle queues, reports missing ones (exit 1), and needs --force for unreadable segments', async () => {
    const a = uniqueName('rm');
    const b = uniqueName('rm');
    const missing = uniqueName('rm');
    const junk = uniqueName('rm');
    await Promise.all([orphan(a, [1]), orphan(b, [])]);
    writeFileSync(`/dev/shm/shm-queue.${junk}`, 'not a queue, just bytes that somebody left here');
    const r = await cli('rm', a, missing, b, junk);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`removed ${a}\nremoved ${b}\n`);
    expect(r.stderr).toContain(`shm-queue rm: no queue '${missing}'`);
    expect(r.stderr).toContain(`refusing to remove '${junk}': it cannot be read (not a shm-queue segment)`);
    expect([segmentExists(a), segmentExists(b), segmentExists(junk)]).toEqual([false, false, true]);
    const forced = await cli('rm', '-f', junk);
    expect([forced.code, forced.stdout]).toEqual([0, `removed ${junk} (unreadable: not a shm-queue segment)\n`]);
    expect(existsSync(`/dev/shm/shm-queue.${junk}`)).toBe(false);
  });
});

describe('shm-queue as another user', () => {
  // Root reads everything, so permission errors need a real unprivileged user: run the command
  // through setpriv as 'nobody' when the suite runs as root and setpriv exists.
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const canDrop = process.getuid?.() === 0 && setpriv !== undefined;

  it.skipIf(!canDrop)(
    'lists a queue it may not read as permission denied; stat, peek and rm exit 1 saying so',
    async () => {
      const secret = uniqueName('perm');
      const shared = uniqueName('perm');
      Queue.create(secret, { mode: 0o600 }).close();
      Queue.create(shared, { mode: 0o644 }).close();
      const asNobody = (...args: string[]): Promise<ChildResult> =>
        collect(
          spawn(
            setpriv as string,
            ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          ),
          20_000,
        );
      const pattern = `${secret.slice(0, secret.lastIndexOf('-'))}-*`;
      const [ls, stat, statShared, peek, rm] = await Promise.all([
        asNobody('ls', pattern),
        asNobody('stat', secret),
        asNobody('stat', shared),
        asNobody('peek', shared),
        asNobody('rm', '--force', secret),
      ]);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toMatch(new RegExp(`^${secret} .* unreadable: permission denied$`, 'm'));
      expect(ls.stdout).toMatch(new RegExp(`^${shared} .* orphan$`, 'm'));
      expect([stat.code, stat.stderr]).toEqual([
        1,
        expect.stringMatching(/^shm-queue stat: EACCES: permission denied reading queue/),
      ]);
      expect(statShared.code).toBe(0); // mode 0644: read-only inspection works
      expect([peek.code, peek.stderr]).toEqual([
        1,
        expect.stringMatching(
          /^shm-queue peek: EACCES: .* peek takes the queue's lock, so it needs read and write access/,
        ),
      ]);
      expect([rm.code, rm.stderr]).toEqual([
        1,
        expect.stringMatching(
          /^shm-queue rm: cannot remove '.*': E(ACCES|PERM): permission denied; only its owner \(or root\) may remove it/,
        ),
      ]);
      expect(segmentExists(secret)).toBe(true);
    },
  );
});

describe('shm-queue gc', () => {
  it('removes idle empty queues, keeps busy, recent and non-empty ones, and --dry-run removes nothing', async () => {
    const label = `gc${process.pid}`;
    const idleEmpty = uniqueName(label);
    // uniqueName(label) is <run prefix><label>-<pid>-<n>: this pattern matches only this test's queues.
    const pattern = `${idleEmpty.slice(0, idleEmpty.lastIndexOf('-'))}-*`;
    const idleFull = uniqueName(label);
    const inUse = uniqueName(label);
    const junk = uniqueName(label);
    await Promise.all([orphan(idleEmpty, []), orphan(idleFull, ['keep me'])]);
    using _q = Queue.create(inUse);
    writeFileSync(`/dev/shm/shm-queue.${junk}`, 'junk junk junk junk');
    await new Promise((r) => setTimeout(r, 30));

    const recent = await cli('gc', pattern);
    expect(recent.code).toBe(0);
    expect(recent.stdout).toContain(
      'gc: removed 0 queues idle longer than 1h; kept 0 with messages, 1 in use, 2 idle for less, 1 unreadable',
    );

    const dry = await cli('gc', pattern, '--older-than', '10ms', '--dry-run');
    expect(dry.code).toBe(0);
    const dryLines = dry.stdout.trimEnd().split('\n');
    expect(dryLines).toContainEqual(
      expect.stringMatching(new RegExp(`^would remove ${idleEmpty} \\(idle \\d+s, 0 messages\\)$`)),
    );
    expect(dryLines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^kept ${idleFull} \\(idle \\d+s, but it holds 1 message; --include-nonempty removes it\\)$`),
      ),
    );
    expect(dryLines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^skipped ${junk} \\(unreadable: not a shm-queue segment; .*rm --force ${junk}' removes it\\)$`),
      ),
    );
    expect(dryLines.at(-1)).toBe(
      'gc: would remove 1 queue idle longer than 10ms; kept 1 with messages, 1 in use, 0 idle for less, 1 unreadable',
    );
    expect([idleEmpty, idleFull, inUse].map(segmentExists)).toEqual([true, true, true]);

    const json = await cli('gc', pattern, '--older-than', '10ms', '--json');
    expect(json.code).toBe(0);
    const actions = Object.fromEntries(
      (JSON.parse(json.stdout) as { name: string; action: string }[]).map((d) => [d.name, d.action]),
    );
    expect(actions).toEqual({
      [idleEmpty]: 'removed',
      [idleFull]: 'kept-nonempty',
      [inUse]: 'in-use',
      [junk]: 'unreadable',
    });
    expect([idleEmpty, idleFull, inUse].map(segmentExists)).toEqual([false, true, true]);

    const all = await cli('gc', pattern, '--older-than', '0s', '--include-nonempty');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^removed ${idleFull} \\(idle \\d+s, 1 message\\)$`, 'm'));
    expect([idleFull, inUse].map(segmentExists)).toEqual([false, true]);
  });
});

describe('attached processes', () => {
  it('a child that opens the queue shows up; killed with SIGKILL, it disappears from attached', async () => {
    const name = uniqueName('attach');
    await orphan(name, ['x']);
    const h = await holder(name);
    const before = await cli('stat', name, '--json');
    const s1 = JSON.parse(before.stdout) as QueueInspection;
    expect(s1.attached).toEqual([{ pid: h.pid, handles: 1 }]);
    expect(s1.idleSince).toBeNull();
    const listed = await cli('ls', name);
    expect(listed.stdout.trimEnd().split('\n')[1]).toMatch(new RegExp(`^${name} +1 .* 1 +0 +0 +\\d+s +- +ok$`));

    const killed = await h.kill();
    expect(killed.signal).toBe('SIGKILL');
    const after = await cli('stat', name, '--json');
    const s2 = JSON.parse(after.stdout) as QueueInspection;
    expect(s2.attached).toEqual([]);
    // A killed process records no detach: the idle clock runs from its attach (documented).
    expect(s2.lastDetachAt).toBe(s1.lastDetachAt);
    expect(s2.idleSince).toBe(Math.max(s2.createdAt, s2.lastAttachAt, s2.lastDetachAt));
    const listedAfter = await cli('ls', name);
    expect(listedAfter.stdout).toMatch(/ orphan\n$/);
  });
});
