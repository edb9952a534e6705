// Structured logging into the execution record. console.log and
// console.error land in the log too (as stdout and stderr).
import { log as hostLog } from 'wolfe:runbook/log@0.1.2';

export function debug(message) {
  hostLog('debug', String(message));
}

export function info(message) {
  hostLog('info', String(message));
}

export function warn(message) {
  hostLog('warn', String(message));
}

export function error(message) {
  hostLog('error', String(message));
}
