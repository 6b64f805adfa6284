/**
 * The answers of a platform entry that cannot run the app: the error envelope, with the real cause
 * logged (one JSON line) and never returned, and the CORS headers the app would add, so a page can
 * read the outage (a preflight is answered 204 as the app would). Workers, Lambda and Vercel answer
 * alike.
 */
import { isPreflight, reflectedCors } from "../shared/cors.js";
import { consoleLogger } from "../shared/deps.js";

/** An error envelope for a failure before the app runs; `error` goes to the log only. */
export function failure(request: Request, status: 500 | 503, code: string, message: string, error: unknown): Response {
  const origin = request.headers.get("origin");
  const preflight =
    Boolean(origin) && isPreflight(request.method, request.headers.get("access-control-request-method"));
  const cors = origin ? reflectedCors(origin, preflight) : [];
  if (preflight) return new Response(null, { status: 204, headers: [["vary", "Origin"], ...cors] });
  consoleLogger.error(message, { cause: error instanceof Error ? error.message : String(error) });
  const requestId = crypto.randomUUID();
  return Response.json(
    { success: false, message, code, requestId },
    { status, headers: [["x-request-id", requestId], ["vary", "Origin"], ...cors] },
  );
}

/** A configuration error (the log names the variables). */
export const misconfigured = (request: Request, error: unknown) =>
  failure(request, 500, "INTERNAL_ERROR", "Server misconfigured", error);

/** The document store could not be reached or opened. */
export const unavailable = (request: Request, error: unknown) =>
  failure(request, 503, "SERVICE_UNAVAILABLE", "Service unavailable", error);
