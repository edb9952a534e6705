// Write Wolfe runbooks in JavaScript.
//
// A runbook's app.js exports `run(event)` — sync or async — taking the event
// (any JSON value) and returning a JSON-serialisable result:
//
//   import { http, kv, log } from 'wolfe-sdk';
//
//   export async function run(event) {
//     log.info(`alert for ${event.service}`);
//     const health = await fetch('https://status.internal/health');
//     return { healthy: health.ok, seen: kv.getJson('seen', 0) };
//   }
//
// Returning ends the execution `succeeded`; throwing (or a rejected promise)
// ends it `failed` with the error's message. console.log goes to the
// execution log. Capabilities work only as far as the manifest grants them;
// anything else throws Denied.
export * as connectors from './connectors.js';
export * as events from './events.js';
export * as http from './http.js';
export * as kv from './kv.js';
export * as log from './log.js';
export * as secrets from './secrets.js';
export { CapabilityError, Denied, Failed, Invalid, Limited } from './errors.js';
