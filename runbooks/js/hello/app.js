// The smallest useful runbook, in JavaScript: logs what it received and echoes it.
import { log } from 'wolfe-sdk';

export function run(event) {
  const keys = event && typeof event === 'object' ? Object.keys(event).length : 0;
  log.info(`hello: event with ${keys} top-level keys`);
  return { greeting: 'hello from wolfe', echo: event };
}
