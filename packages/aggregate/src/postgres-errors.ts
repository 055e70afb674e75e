/*
 * Which failures of a batch are worth retrying as they are. Postgres reports SQLSTATE codes;
 * node-postgres and the socket layer report connection trouble without one.
 */

import { types } from 'node:util';

/** Classes and codes that say "the database, not the data": retry the same batch later. */
const TRANSIENT_CLASSES = ['08', '53', '57', '58'];
const TRANSIENT_CODES = new Set([
  '40001', // serialization failure
  '40P01', // deadlock detected
  '55P03', // lock not available
  '3D000', // database does not exist (being recreated)
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when the batch may well succeed unchanged later (Postgres down, restarting, a killed
 * connection, a deadlock); false for errors about the data itself, which retrying cannot fix.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  // isNativeError also recognises errors from another realm (Node's own socket errors under Jest's vm).
  if (!(error instanceof Error) && !types.isNativeError(error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (TRANSIENT_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.includes(code.slice(0, 2));
  }
  // node-postgres: "Connection terminated unexpectedly", "Connection terminated", "timeout exceeded when trying to connect", a client used after an error…
  return /connection|terminat|timeout|not queryable|socket|closed/i.test(error.message);
}
