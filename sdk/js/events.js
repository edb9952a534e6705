// Events for other rules to act on (capabilities.emit = true): a diagnostic
// runbook hands its findings to a remediation runbook. Since WIT 0.1.2.
import { emit as hostEmit } from 'wolfe:runbook/events@0.1.2';
import { call } from './errors.js';

/**
 * Emits an event of `eventType` with `data` (any JSON value) from the source
 * `runbook:{name}`; returns its id. An execution resumed after a crash emits
 * the same events under the same ids. Throws Limited past the chain's depth.
 */
export function emit(eventType, data) {
  return call(hostEmit, eventType, JSON.stringify(data));
}
