// Host-side integrations the manifest declares under capabilities.connectors.
// The tenant configures each one (kind, URL, which secret holds its
// credentials) and the host adds the credentials: they never enter the runbook.
import { call as hostCall } from 'wolfe:runbook/connectors@0.1.2';
import { call as capability } from './errors.js';

export class Reply {
  constructor(status, body) {
    this.status = status;
    this.body = body;
  }

  /** True for 2xx statuses. */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  json() {
    return JSON.parse(this.body);
  }
}

/** Calls a connector with a raw action and payload (see the WIT interface). */
export function call(connector, action, payload = '') {
  const r = capability(hostCall, connector, action, payload);
  return new Reply(r.status, r.body);
}

/** A request through an `http` connector: a method and a path under its base URL. */
export function request(connector, method, path, body = '') {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return call(connector, `${method} ${path}`, payload);
}

/** Posts `{text}` (or with `blocks`) through a `slack` connector. */
export function slackPost(connector, message) {
  return call(connector, 'post', JSON.stringify(message));
}

/** Sends a PagerDuty Events v2 event: trigger, acknowledge or resolve. */
export function pagerduty(connector, action, event) {
  return call(connector, action, JSON.stringify(event));
}
