// The runbook's private key-value store (capabilities.kv = true).
import * as hostKv from 'wolfe:runbook/kv@0.1.0';
import { call } from './errors.js';
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
