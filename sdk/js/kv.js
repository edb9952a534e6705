// The runbook's private key-value store (capabilities.kv = true).
import * as hostKv from 'wolfe:runbook/kv@0.1.2';
import { Invalid, call } from './errors.js';
import { decodeUtf8, encodeUtf8 } from './text.js';

/** The bytes stored under `key` (a Uint8Array), or undefined. */
export function get(key) {
  const value = call(hostKv.get, key);
  return value == null ? undefined : value;
}

/** Stores bytes; a string is stored as UTF-8. */
export function set(key, value) {
  call(hostKv.set, key, typeof value === 'string' ? encodeUtf8(value) : new Uint8Array(value));
}

export function del(key) {
  call(hostKv.delete, key);
}
export { del as delete };

const bytes = (value) => (typeof value === 'string' ? encodeUtf8(value) : new Uint8Array(value));

/**
 * Sets `key` to `value` only if it holds exactly `expected` now (undefined or
 * null: only if absent), atomically — also against executions of this
 * runbook running at the same moment on other hosts. True when it was set.
 */
export function compareAndSwap(key, expected, value) {
  return call(hostKv.compareAndSwap, key, expected == null ? undefined : bytes(expected), bytes(value));
}

/**
 * Adds `delta` to the counter under `key` (absent: 0) atomically and returns
 * the new value as a Number. Counters are decimal text, so getJson reads one
 * as a number.
 */
export function increment(key, delta = 1) {
  // componentize-js 0.23 cannot pass a negative s64 to the host (it aborts;
  // bytecodealliance/ComponentizeJS#343), and hands a negative result back
  // as its unsigned bit pattern. A negative delta is therefore applied with
  // compare-and-swap here — as atomic as the host's own increment.
  if (delta < 0) {
    for (;;) {
      const current = get(key);
      const value = current === undefined ? 0 : Number(decodeUtf8(current).trim());
      if (!Number.isSafeInteger(value)) {
        throw new Invalid(`the value of ${JSON.stringify(key)} is not a counter (decimal integer text)`);
      }
      const next = value + delta;
      if (compareAndSwap(key, current, String(next))) {
        return next;
      }
    }
  }
  const bits = call(hostKv.increment, key, BigInt(delta));
  return Number(BigInt.asIntN(64, BigInt(bits)));
}

/** A string stored under `key`, or `fallback`. */
export function getText(key, fallback = undefined) {
  const raw = get(key);
  return raw === undefined ? fallback : decodeUtf8(raw);
}

/** A JSON value stored with setJson, or `fallback`. */
export function getJson(key, fallback = undefined) {
  const raw = get(key);
  return raw === undefined ? fallback : JSON.parse(decodeUtf8(raw));
}

export function setJson(key, value) {
  set(key, JSON.stringify(value));
}
