// Outbound HTTP through the host, allowed only for the URLs and methods in
// the manifest's capabilities.http. The standard fetch() works too, under the
// same grants and recorded in the same trail; these helpers are synchronous.
import { send } from 'wolfe:runbook/http@0.1.2';
import { call } from './errors.js';
import { decodeUtf8, encodeUtf8 } from './text.js';

export class Response {
  constructor(status, headers, body) {
    /** The HTTP status code. */
    this.status = status;
    /** `[name, value]` pairs, as received. */
    this.headers = headers;
    /** The body as a Uint8Array. */
    this.body = body;
  }

  /** True for 2xx statuses. */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** The first header with this name (case-insensitive), or undefined. */
  header(name) {
    const wanted = name.toLowerCase();
    const found = this.headers.find(([key]) => key.toLowerCase() === wanted);
    return found ? found[1] : undefined;
  }

  text() {
    return decodeUtf8(this.body);
  }

  json() {
    return JSON.parse(this.text());
  }
}

/**
 * Sends a request. Options: `headers` (object or pairs), `body` (string or
 * bytes), `json` (serialised, sets Content-Type), `timeoutMs`.
 */
export function request(method, url, options = {}) {
  const headers = Array.isArray(options.headers)
    ? options.headers.map(([k, v]) => [String(k), String(v)])
    : Object.entries(options.headers || {}).map(([k, v]) => [k, String(v)]);
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.push(['Content-Type', 'application/json']);
  }
  if (typeof body === 'string') {
    body = encodeUtf8(body);
  }
  const response = call(send, {
    method,
    url,
    headers,
    body: body == null ? undefined : new Uint8Array(body),
    timeoutMs: options.timeoutMs,
  });
  return new Response(response.status, response.headers, response.body);
}

export function get(url, options = {}) {
  return request('GET', url, options);
}

export function postJson(url, value, options = {}) {
  return request('POST', url, { ...options, json: value });
}
