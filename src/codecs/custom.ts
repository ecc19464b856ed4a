/**
 * Custom codecs: a user's `{ name, encode, decode, borrowsInput? }`, checked once and wrapped so
 * that a bad encode() result is caught before anything reaches shared memory.
 *
 * @module
 */
import { describe, invalidArgType, invalidArgValue } from '../errors.js';
import { addon, limits } from '../native/index.js';
import type { Codec } from './types.js';

/**
 * Validates a custom codec object and returns it wrapped: the wrapper checks that encode()
 * returns a Uint8Array and defaults `borrowsInput` to true. `isBuiltinName` refuses the names of
 * the built-in codecs (the caller knows the list).
 */
export function customCodec(codec: object, isBuiltinName: (name: string) => boolean): Codec<unknown> {
  const { name, encode, decode, borrowsInput } = codec as Partial<Codec<unknown>>;
  if (typeof name !== 'string') throw invalidArgType('options.codec.name', 'of type string', name);
  if (!addon.isValidCodecName(name)) {
    throw invalidArgValue(
      'options.codec.name',
      `must be 1-${limits.maxCodecNameLength} characters of [A-Za-z0-9_.:-]. Received ${describe(name)}`,
    );
  }
  if (isBuiltinName(name)) {
    throw invalidArgValue(
      'options.codec.name',
      `must not be the name of a built-in codec. Received '${name}'; pass the string '${name}' to use the built-in one`,
    );
  }
  if (typeof encode !== 'function') throw invalidArgType('options.codec.encode', 'of type function', encode);
  if (typeof decode !== 'function') throw invalidArgType('options.codec.decode', 'of type function', decode);
  if (borrowsInput !== undefined && typeof borrowsInput !== 'boolean') {
    throw invalidArgType('options.codec.borrowsInput', 'of type boolean', borrowsInput);
  }
  const wrapper: Codec<unknown> = {
    name,
    borrowsInput: borrowsInput ?? true,
    encode(value: unknown): Uint8Array {
      const bytes: unknown = encode.call(codec, value);
      if (!(bytes instanceof Uint8Array)) {
        const error = new TypeError(
          `The encode() method of codec "${name}" must return a Uint8Array. Received ${describe(bytes)}`,
        );
        Object.defineProperty(error, 'code', {
          value: 'ERR_INVALID_ARG_TYPE',
          enumerable: true,
          writable: true,
          configurable: true,
        });
        throw error;
      }
      return bytes;
    },
    decode(bytes: Uint8Array): unknown {
      return decode.call(codec, bytes);
    },
  };
  return Object.freeze(wrapper);
}
