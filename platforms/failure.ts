/**
 * The answers of a platform entry that cannot run the app: the error envelope, with the real cause
 * logged (one JSON line) and never returned. Workers, Lambda and Vercel answer alike.
 */

/** An error envelope for a failure before the app runs; `error` goes to the log only. */
export function failure(status: 500 | 503, code: string, message: string, error: unknown): Response {
  console.error(
    JSON.stringify({ level: "error", message, cause: error instanceof Error ? error.message : String(error) }),
  );
  const requestId = crypto.randomUUID();
  return Response.json(
    { success: false, message, code, requestId },
    { status, headers: { "x-request-id": requestId } },
  );
}

/** A configuration error (the log names the variables). */
export const misconfigured = (error: unknown) => failure(500, "INTERNAL_ERROR", "Server misconfigured", error);

/** The document store could not be reached or opened. */
export const unavailable = (error: unknown) => failure(503, "SERVICE_UNAVAILABLE", "Service unavailable", error);
