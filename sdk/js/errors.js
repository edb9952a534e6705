// Capability errors: what the host answered instead of a result. Every
// capability call that does not succeed throws one of these.

/** A capability call did not succeed; `kind` says how. */
export class CapabilityError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'CapabilityError';
    this.kind = kind;
  }

  toString() {
    return `${this.kind}: ${this.message}`;
  }
}

/** The manifest does not grant this call. */
export class Denied extends CapabilityError {
  constructor(message) {
    super('denied', message);
    this.name = 'Denied';
  }
}

/** The request was malformed. */
export class Invalid extends CapabilityError {
  constructor(message) {
    super('invalid', message);
    this.name = 'Invalid';
  }
}

/** The call was allowed but did not work. */
export class Failed extends CapabilityError {
  constructor(message) {
    super('failed', message);
    this.name = 'Failed';
  }
}

/** A size, time or count limit was hit. */
export class Limited extends CapabilityError {
  constructor(message) {
    super('limited', message);
    this.name = 'Limited';
  }
}

const BY_TAG = { denied: Denied, invalid: Invalid, failed: Failed, limited: Limited };

/**
 * Calls a WIT import. componentize-js throws an `err` result as an error
 * whose `payload` is the WIT variant (`{tag, val}`); this rethrows it as a
 * CapabilityError subclass.
 */
export function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    const variant = e && e.payload;
    const Kind = variant && BY_TAG[variant.tag];
    if (Kind) {
      throw new Kind(String(variant.val));
    }
    throw e;
  }
}
