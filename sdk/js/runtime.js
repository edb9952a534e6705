// The component's export, wrapped around the author's module by `wolfe
// build`: decodes the event, awaits the runbook's `run`, encodes its result.
// A thrown error or rejected promise becomes the execution's failure message
// ("Name: message"), its stack goes to the log.

// The host's cap on a result (MAX_OUTPUT_BYTES in host/src/sandbox/limits.rs).
// Checked here as well because handing a string to the host costs fuel per
// character: a result far over the cap would otherwise end out_of_fuel.
const MAX_OUTPUT_BYTES = 1024 * 1024;

// The host recognises this prefix and reports `output_too_large`.
const OUTPUT_TOO_LARGE = 'wolfe-sdk: output too large: ';

export async function runExport(handler, eventText) {
  if (typeof handler !== 'function') {
    throw 'app.js must export a function `run(event)` (or a default export)';
  }
  let result;
  try {
    result = await handler(JSON.parse(eventText));
  } catch (e) {
    if (e && e.stack) {
      console.error(String(e.stack));
    }
    throw describe(e);
  }
  if (result === undefined) {
    result = null;
  }
  const atLeast = jsonLengthLowerBound(result, MAX_OUTPUT_BYTES);
  if (atLeast > MAX_OUTPUT_BYTES) {
    throw OUTPUT_TOO_LARGE + atLeast;
  }
  let text;
  try {
    text = JSON.stringify(result);
  } catch (e) {
    throw `the result is not JSON-serialisable: ${describe(e)}`;
  }
  if (text === undefined) {
    throw `the result is not JSON-serialisable: ${typeof result}`;
  }
  // UTF-16 units: never more than the UTF-8 bytes the host will count.
  if (text.length > MAX_OUTPUT_BYTES) {
    throw OUTPUT_TOO_LARGE + text.length;
  }
  return text;
}

/** "Name: message" for an Error, the value itself otherwise. */
function describe(e) {
  if (e instanceof Error) {
    const message = e.message || e.name;
    return `${e.name}: ${message}`;
  }
  if (typeof e === 'string') {
    return e;
  }
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/**
 * A lower bound of the length of JSON.stringify(value), walking no further
 * than needed to pass `cap`. Objects seen twice (shared or cyclic) count once.
 */
function jsonLengthLowerBound(value, cap) {
  let total = 0;
  const seen = new WeakSet();
  const pending = [value];
  while (pending.length > 0 && total <= cap) {
    const v = pending.pop();
    if (typeof v === 'string') {
      total += v.length + 2;
    } else if (v !== null && typeof v === 'object') {
      if (seen.has(v)) {
        continue;
      }
      seen.add(v);
      if (typeof v.toJSON === 'function') {
        total += 2;
        continue;
      }
      const entries = Array.isArray(v) ? v.map((x) => ['', x]) : Object.entries(v);
      total += 2;
      for (const [key, item] of entries) {
        total += key.length + (key ? 4 : 1);
        pending.push(item);
      }
    } else {
      total += 1;
    }
  }
  return total;
}
