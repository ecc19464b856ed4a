// Internals stay internal (issue 10, item 3): nothing of the native handle or the private helpers
// is reachable on a queue at run time, public properties cannot be changed, and subclasses of
// Queue / JoinableQueue get instances of themselves from the static factories.
import { describe, expect, it } from 'vitest';
import { JoinableQueue, Queue, QueueFullError } from '../src/index.js';
import { uniqueName } from './helpers.js';

const PUBLIC_FIELDS = ['name', 'maxsize', 'capacity', 'codec', 'maxMessageSize'];

/** Every property name on the object and its prototype chain, Object.prototype excluded. */
function allNames(obj: object): string[] {
  const names: string[] = [];
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o))
    names.push(...Object.getOwnPropertyNames(o));
  return names;
}

describe('internals are unreachable', () => {
  it.each([
    ['Queue', Queue],
    ['JoinableQueue', JoinableQueue],
  ] as const)('%s: only the public fields are own properties; no handle, sliced or throwStatus', (_, Kind) => {
    const q = Kind.create(uniqueName('int'));
    try {
      expect(Object.getOwnPropertyNames(q).sort()).toEqual([...PUBLIC_FIELDS].sort());
      expect(Object.getOwnPropertySymbols(q)).toEqual([]);
      const loose = q as unknown as Record<string, unknown>;
      for (const internal of ['handle', 'sliced', 'throwStatus', 'waitEvent', 'live', 'fail'])
        expect(loose[internal], internal).toBeUndefined();
      const names = allNames(q);
      for (const internal of ['handle', 'sliced', 'throwStatus', 'waitEvent']) expect(names).not.toContain(internal);
    } finally {
      q.close();
    }
  });

  it('the constructor is not public', () => {
    const Ctor = Queue as unknown as new (...args: unknown[]) => Queue;
    expect(() => new Ctor(Symbol('shm-queue.internal'), {})).toThrow(TypeError);
  });
});

describe('public properties are read-only at run time', () => {
  it('assigning maxsize throws (strict mode) and full() still agrees with what a put does', () => {
    const q = Queue.create<number>(uniqueName('ro'), { maxsize: 2 });
    try {
      const loose = q as unknown as Record<string, unknown>;
      for (const field of PUBLIC_FIELDS) {
        const before = loose[field];
        expect(() => {
          loose[field] = 5;
        }, field).toThrow(TypeError);
        expect(loose[field]).toBe(before);
      }
      expect(q.maxsize).toBe(2);
      q.putNowait(1);
      expect(q.full()).toBe(false);
      q.putNowait(2);
      expect(q.full()).toBe(true);
      expect(() => q.putNowait(3)).toThrow(QueueFullError);
    } finally {
      q.close();
    }
  });
});

describe('subclasses', () => {
  class MyQueue<T = unknown> extends Queue<T> {
    label(): string {
      return `my:${this.name}`;
    }
  }
  class MyJoinable<T = unknown> extends JoinableQueue<T> {
    pending(): number {
      return this.unfinishedTasks();
    }
  }

  it('MyQueue.create / MyQueue.open return MyQueue instances that work', () => {
    const name = uniqueName('sub');
    const a = MyQueue.create<number, MyQueue<number>>(name);
    const b = MyQueue.open<number, MyQueue<number>>(name);
    try {
      expect(a).toBeInstanceOf(MyQueue);
      expect(b).toBeInstanceOf(MyQueue);
      expect(a.label()).toBe(`my:${name}`);
      a.putSync(7);
      expect(b.getSync({ timeout: 1000 })).toBe(7);
    } finally {
      a.close();
      b.close();
    }
  });

  it('JoinableQueue subclasses too, and keep the joinable methods', async () => {
    const name = uniqueName('subj');
    const a = MyJoinable.create<string, MyJoinable<string>>(name);
    const b = MyJoinable.open<string, MyJoinable<string>>(name);
    try {
      expect(a).toBeInstanceOf(MyJoinable);
      expect(b).toBeInstanceOf(MyJoinable);
      await a.put('x');
      expect(b.pending()).toBe(1);
      expect(await b.get()).toBe('x');
      b.taskDone();
      expect(await a.join({ timeout: 1000 })).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});
