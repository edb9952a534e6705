// Test guest: does what the event's `case` says, hostile cases included —
// the JavaScript twin of tests/guests/rust/conformance. Capability errors are
// returned as data ({error: "..."}) so tests see what the guest saw. Split
// over two files so the build's bundling of local imports is tested too.
import { CapabilityError, connectors, events, http, kv, log, secrets } from 'wolfe-sdk';
import { fetchCase, fetchFlood } from './fetching.js';

class BrokerDown extends Error {
  constructor(message) {
    super(message);
    this.name = 'BrokerDown';
  }
}

function capability(fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CapabilityError) {
      return { error: String(e) };
    }
    throw e;
  }
}

export async function run(event) {
  const c = event.case ?? 'echo';
  switch (c) {
    case 'echo':
      return event;
    case 'entropy': {
      const started = performance.now();
      const words = crypto.getRandomValues(new Uint32Array(2));
      return {
        now_ns: String(Date.now() * 1e6),
        random: Array.from(words, (w) => w.toString(16)).join(''),
        elapsed_ns: String(Math.round((performance.now() - started) * 1e6)),
      };
    }
    case 'log':
      log.debug('debug line');
      log.info('info line');
      log.warn('warn line');
      log.error('error line');
      console.log('stdout line');
      console.error('stderr line');
      return { logged: 6 };
    case 'http':
      return capability(() => {
        const headers = {};
        if (event.bearer_secret) {
          headers.Authorization = `Bearer ${secrets.get(event.bearer_secret)}`;
        }
        const r = http.request(event.method ?? 'GET', event.url, {
          headers,
          body: event.body,
          timeoutMs: event.timeout_ms,
        });
        return { status: r.status, body: r.text() };
      });
    case 'fetch':
      return fetchCase(event);
    case 'fetch_flood':
      return fetchFlood(event);
    case 'connector':
      return capability(() => {
        const r = connectors.call(event.name, event.action ?? '', event.payload ?? '');
        return { status: r.status, body: r.body };
      });
    case 'secret':
      return capability(() => ({ value: secrets.get(event.name) }));
    case 'kv_roundtrip': {
      const before = kv.getText(event.key) ?? null;
      kv.set(event.key, event.value);
      const after = kv.getText(event.key) ?? null;
      return { before, after };
    }
    case 'kv_atomic': {
      const swaps = [
        kv.compareAndSwap('atomic', null, 'a'),
        kv.compareAndSwap('atomic', null, 'b'),
        kv.compareAndSwap('atomic', 'a', 'c'),
      ];
      const value = kv.getText('atomic');
      const counts = [kv.increment('hits', 2), kv.increment('hits', 3)];
      let notACounter = null;
      try {
        kv.increment('atomic', 1);
      } catch (e) {
        notACounter = e.toString();
      }
      return { swaps, value, counts, not_a_counter: notACounter };
    }
    case 'kv_counter': {
      const counter = kv.getJson('counter', 0) + 1;
      kv.setJson('counter', counter);
      return { counter };
    }
    case 'emit': {
      const ids = [];
      for (let i = 0; i < (event.times ?? 1); i += 1) {
        try {
          ids.push(events.emit(event.emit_type, event.emit_data ?? null));
        } catch (e) {
          if (e instanceof CapabilityError) {
            return { emitted: ids, error: String(e) };
          }
          throw e;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
      return { emitted: ids };
    }
    case 'guest_error':
      throw new BrokerDown(`broker ${event.broker} is down`);
    case 'infinite_loop': {
      let x = 0;
      for (;;) {
        x += 1;
      }
    }
    case 'sleep_ms':
      await new Promise((resolve) => setTimeout(resolve, event.ms ?? 10));
      return { slept_ms: event.ms ?? 10, n: event.n };
    case 'never_settles':
      return new Promise(() => {});
    case 'timer_forever':
      return new Promise(() => setInterval(() => {}, 5));
    case 'memory_bomb': {
      const hoard = [];
      for (;;) {
        hoard.push(new Uint8Array(1024 * 1024).fill(1));
      }
    }
    case 'big_output':
      return { blob: 'y'.repeat(2 * 1024 * 1024) };
    case 'not_json':
      return { n: 10n };
    case 'panic':
      throw new Error(`deliberate panic: ${event.why}`);
    default:
      throw new TypeError(`unknown case ${JSON.stringify(c)}`);
  }
}
