import { InvalidPayloadError } from '@mailbeacon/contracts';
import { DuplicateTrackingDomainError, ServerHasApiKeysError, ServerHasDomainsError, StatsQueryTimeoutError, UnknownServerError } from '@mailbeacon/db';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { AdminLogger } from './admin-logger';

/** One bad field of a request: `host`, `excludedDomains[1]`, or `(root)` for the body as a whole. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  issues?: FieldIssue[];
}

/** An error the client caused, answered with its status; anything else is a 500. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
  }
}

export const issuesOf = (error: InvalidPayloadError): FieldIssue[] => error.issues.map((issue) => ({ field: issue.path, message: issue.message }));

/** body-parser's errors carry `type`, `status` and `expose` (http-errors). */
interface HttpLibraryError {
  type?: string;
  status?: number;
  expose?: boolean;
  message: string;
}

function asApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidPayloadError) return new ApiError(400, `invalid ${error.payload}`, issuesOf(error));
  if (error instanceof UnknownServerError) return new ApiError(422, error.message, [{ field: 'server', message: 'no server has this token' }]);
  if (error instanceof DuplicateTrackingDomainError || error instanceof ServerHasDomainsError || error instanceof ServerHasApiKeysError) return new ApiError(409, error.message);
  // The database is fine, the question was too big (or it is busy): the client can narrow it or retry.
  if (error instanceof StatsQueryTimeoutError) return new ApiError(503, 'the numbers took too long to read and the query was cancelled: ask for a shorter range (or fewer links), or try again later');
  // The router's: a path parameter whose percent-encoding is malformed (`/domains/%E0%A4%A`).
  if (error instanceof URIError && (error as HttpLibraryError).status === 400) return new ApiError(400, 'malformed percent-encoding in the path');
  const http = error as HttpLibraryError;
  if (http?.expose === true && typeof http.status === 'number' && http.status >= 400 && http.status < 500) {
    if (http.type === 'entity.parse.failed') return new ApiError(400, 'malformed JSON body');
    if (http.type === 'entity.too.large') return new ApiError(413, 'request body too large (limit 100kb)');
    return new ApiError(http.status, http.message);
  }
  return undefined;
}

export function notFound(): RequestHandler {
  return (req, _res, next) => next(new ApiError(404, `no route ${req.method} ${req.path}`));
}

/** Client errors are answered as they are; anything else is logged in full and answered with nothing internal. */
export function errorHandler(logger: AdminLogger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const known = asApiError(error);
    if (known) {
      const body: ErrorBody = { error: known.message, ...(known.issues && { issues: known.issues }) };
      res.status(known.status).json(body);
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res.status(500).json({ error: 'internal error (see the admin API log)' } satisfies ErrorBody);
  };
}
