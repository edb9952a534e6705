// Named secrets; only the names in the manifest's capabilities.secrets can
// be read. Values are redacted from everything the execution records.
import { get as hostGet } from 'wolfe:runbook/secrets@0.1.2';
import { call } from './errors.js';

/** The secret's value; throws Denied for a name the manifest does not declare. */
export function get(name) {
  return call(hostGet, name);
}
