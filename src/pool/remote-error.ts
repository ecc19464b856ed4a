/**
 * Errors across the process boundary: what a worker sends for a thrown value, and how the pool
 * rebuilds it (class name, message, code, own properties, cause and the worker's stack).
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
import * as deps from './deps.js';
import * as poolErrors from './errors.js';

/** An error as it travels. `chain`: constructor names from the error's class up to `Error`. */
export interface WireError {
  error: true;
  chain: string[];
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown> | undefined;
  cause: WireError | WireThrown | undefined;
}

/** Something thrown that is not an Error (a string, a plain object...). */
export interface WireThrown {
  error: false;
  value: unknown;
}

/** Describes a thrown value for the wire; `full: false` leaves out the properties and cause. */
export function toWire(thrown: unknown, full = true, depth = 0): WireError | WireThrown {
  if (!(thrown instanceof Error)) return { error: false, value: thrown };
  const chain: string[] = [];
  for (let p = Object.getPrototypeOf(thrown); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    chain.push(typeof name === 'string' && name !== '' ? name : 'Error');
  }
  let props: Record<string, unknown> | undefined;
  if (full) {
    for (const key of Object.keys(thrown)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
      props ??= {};
      props[key] = (thrown as unknown as Record<string, unknown>)[key];
    }
  }
  const cause = (thrown as { cause?: unknown }).cause;
  return {
    error: true,
    chain,
    name: String(thrown.name),
    message: String(thrown.message),
    stack: typeof thrown.stack === 'string' ? thrown.stack : undefined,
    props,
    cause: full && cause !== undefined && depth < 8 ? toWire(cause, true, depth + 1) : undefined,
  };
}

type ErrorClass = abstract new (...args: never[]) => Error;
const BUILTIN_ERRORS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
/** This package's own error classes: rebuilt as themselves, so `instanceof` works. */
const PACKAGE_ERRORS: Record<string, ErrorClass> = {};
for (const source of [deps as Record<string, unknown>, poolErrors as Record<string, unknown>]) {
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === 'function' && value.prototype instanceof Error) PACKAGE_ERRORS[key] = value as ErrorClass;
  }
}
const dynamicClasses = new Map<string, new (message?: string) => Error>();

/** A class named `name` extending `base`, made once per (name, base). */
function dynamicClass(name: string, base: new (message?: string) => Error): new (message?: string) => Error {
  const key = `${name}\u0000${base.name}`;
  let made = dynamicClasses.get(key);
  if (!made) {
    made = { [name]: class extends base {} }[name] as new (message?: string) => Error;
    dynamicClasses.set(key, made);
  }
  return made;
}

function define(target: object, key: string, value: unknown, enumerable = false): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}

/**
 * Rebuilds a thrown value from the wire: this package's error classes and the built-in ones as
 * themselves; any other class as a class of the same name extending the nearest built-in
 * ancestor (so `err.constructor.name` and `err.name` read as in the worker). `stack` is the
 * worker's stack.
 */
export function fromWire(w: WireError | WireThrown): unknown {
  if (!w.error) return w.value;
  const own = w.chain[0] ?? 'Error';
  let error: Error;
  const pkg = PACKAGE_ERRORS[own];
  if (pkg) {
    error = Object.create(pkg.prototype) as Error;
    define(error, 'message', w.message);
  } else {
    const baseName = w.chain.find((n) => Object.hasOwn(BUILTIN_ERRORS, n)) ?? 'Error';
    const base = BUILTIN_ERRORS[baseName] as new (message?: string) => Error;
    const ctor = own === baseName ? base : dynamicClass(own, base);
    error = new ctor(w.message);
  }
  if (error.name !== w.name) define(error, 'name', w.name);
  if (w.props) for (const [key, value] of Object.entries(w.props)) define(error, key, value, true);
  if (w.cause !== undefined) define(error, 'cause', fromWire(w.cause));
  define(error, 'stack', w.stack ?? `${w.name}: ${w.message}\n    at <ProcessPool worker>`);
  return error;
}
