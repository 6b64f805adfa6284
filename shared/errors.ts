/**
 * The one error type of Edgeback and its code table (API.md §2).
 * A shipped code is never renamed; add new ones at the end of their group.
 */

/** Every error code, with its HTTP status and default message. */
export const ERROR_CODES = {
  INVALID_JSON: [400, "Malformed JSON in request body"],
  VALIDATION_FAILED: [400, "Validation failed"],
  INVALID_QUERY: [400, "Invalid query"],
  INVALID_FIELD_NAME: [400, "Invalid field name"],
  INVALID_ID: [400, "Invalid id"],
  // The same for every account (no enumeration): whether it was ever right is not told.
  OTP_INVALID: [400, "Invalid code: it is wrong, was used already, or a newer code replaced it"],
  OTP_EXPIRED: [400, "Code expired"],
  API_KEY_MISSING: [401, "API key missing"],
  // One answer for every reason (shared/api-key.ts), so it names them all: a rotated key reads like a typo.
  API_KEY_INVALID: [
    401,
    "API key invalid: unknown, mistyped, revoked or rotated (a rotation replaces the key at once unless graceSeconds was given); use the project's current key",
  ],
  AUTH_REQUIRED: [401, "Authentication required"],
  TOKEN_INVALID: [401, "Token invalid"],
  TOKEN_EXPIRED: [401, "Token expired: get a new one with POST /api/userAuth/refresh-token, then retry"],
  INVALID_CREDENTIALS: [401, "Invalid email or password"],
  REFRESH_TOKEN_INVALID: [401, "Refresh token invalid"],
  REFRESH_TOKEN_REUSED: [401, "Refresh token reused; session revoked"],
  ADMIN_TOKEN_INVALID: [401, "Admin token missing or invalid"],
  WRITE_BLOCKED: [403, "Write blocked for publishable key"],
  READ_BLOCKED: [403, "Read blocked for publishable key"],
  OWNER_MISMATCH: [403, "RLS owner mismatch"],
  INSERT_DENIED: [403, "Insert denied"],
  OWNER_IMMUTABLE: [403, "Owner field immutable"],
  USERS_COLLECTION_BLOCKED: [403, "The users collection is reachable only through /api/userAuth"],
  ORIGIN_NOT_ALLOWED: [403, "Origin not allowed"],
  QUOTA_EXCEEDED: [403, "Quota exceeded"],
  EMAIL_NOT_VERIFIED: [
    403,
    "Email not verified: send the code mailed at sign-up to POST /api/userAuth/verify-email, or ask for a new one with POST /api/userAuth/resend-verification",
  ],
  FORBIDDEN: [403, "Forbidden"],
  NOT_FOUND: [404, "Not found"],
  PROJECT_NOT_FOUND: [404, "Project not found"],
  COLLECTION_NOT_FOUND: [404, "Collection not found"],
  DOCUMENT_NOT_FOUND: [404, "Document not found"],
  FILE_NOT_FOUND: [404, "File not found"],
  USER_NOT_FOUND: [404, "User not found"],
  DUPLICATE_VALUE: [409, "Duplicate value"],
  EMAIL_TAKEN: [409, "Email already registered"],
  USERNAME_TAKEN: [409, "Username already taken"],
  COLLECTION_EXISTS: [409, "Collection already exists"],
  PRECONDITION_FAILED: [412, "Precondition failed"],
  PAYLOAD_TOO_LARGE: [413, "Payload too large"],
  FILE_TOO_LARGE: [413, "File too large"],
  UNSUPPORTED_MEDIA_TYPE: [415, "Unsupported media type"],
  RANGE_NOT_SATISFIABLE: [416, "Range not satisfiable"],
  OTP_ATTEMPTS_EXCEEDED: [429, "Too many attempts"],
  OTP_COOLDOWN: [429, "Please wait before requesting another code"],
  RATE_LIMITED: [429, "Too many requests"],
  INTERNAL_ERROR: [500, "Internal server error"],
  SERVICE_UNAVAILABLE: [503, "Service unavailable"],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One entry of `details`: which field failed and why (path in dot notation). */
export interface ErrorDetail {
  path: string;
  message: string;
  [extra: string]: unknown;
}

/** Most entries one error's `details` lists; one more entry counts the rest (`omitted`). */
export const MAX_DETAILS = 100;
/** Longest `path` or `message` of a detail, in characters: a longer one is cut, ending in "…". */
export const MAX_DETAIL_CHARS = 200;
/** Longest message of an error (it may quote a detail), in characters. */
const MAX_MESSAGE_CHARS = 500;

/** `text` cut to at most `max` characters, ending in "…" when cut (never halving a surrogate pair). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 2);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/**
 * A detail path in dot notation, cut to MAX_DETAIL_CHARS without first joining the whole path: a
 * long key repeated in the paths of many details would otherwise cost memory many times its size.
 */
export function detailPath(segments: readonly string[]): string {
  const parts: string[] = [];
  let length = 0;
  for (const segment of segments) {
    if (length > MAX_DETAIL_CHARS) break;
    // One character past the bound is enough for `cut` to see that the path is longer.
    const part = segment.length > MAX_DETAIL_CHARS ? segment.slice(0, MAX_DETAIL_CHARS + 1) : segment;
    parts.push(part);
    length += part.length + 1;
  }
  return cut(parts.join("."), MAX_DETAIL_CHARS);
}

/** How many problems a list of details stands for: its entries, or the count an `omitted` entry gives. */
function problemCount(details: readonly ErrorDetail[]): number {
  return details.reduce((sum, d) => sum + (typeof d.omitted === "number" ? d.omitted : 1), 0);
}

/**
 * Details as an error answers them, so an answer stays proportionate to the request: at most
 * MAX_DETAILS entries, each path and message cut to MAX_DETAIL_CHARS, then one entry
 * `{path: "", message: "n more not listed", omitted: n}` for the rest. `omitted` entries already in
 * the list (a bulk insert or a signup re-lists the details of errors bounded here) add to that count.
 */
function bounded(details: readonly ErrorDetail[], omitted: number): ErrorDetail[] {
  const kept: ErrorDetail[] = [];
  let left = omitted;
  for (const detail of details) {
    if (typeof detail.omitted === "number") left += detail.omitted;
    else if (kept.length >= MAX_DETAILS) left += 1;
    else
      kept.push({
        ...detail,
        path: cut(detail.path, MAX_DETAIL_CHARS),
        message: cut(detail.message, MAX_DETAIL_CHARS),
      });
  }
  if (left > 0) kept.push({ path: "", message: `${left} more not listed`, omitted: left });
  return kept;
}

/**
 * "Validation failed: title: Required (and 2 more)": clients that show only the message (urBackend's
 * SDK keeps nothing else) still say what to fix; `details` lists the problems.
 */
function namingFirstProblem(fallback: string, details: ErrorDetail[], total: number): string {
  const first = details[0];
  if (!first) return fallback;
  const more = total > 1 ? ` (and ${total - 1} more)` : "";
  return `${fallback}: ${first.path ? `${first.path}: ` : ""}${first.message}${more}`;
}

/** The only error the HTTP layer turns into an error envelope. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  /**
   * `details` are bounded here (see `bounded`), and so is the message; `omitted` counts problems
   * the caller found but did not list.
   */
  constructor(
    code: ErrorCode,
    message?: string,
    options: { details?: ErrorDetail[]; omitted?: number; headers?: Record<string, string> } = {},
  ) {
    const [status, fallback] = ERROR_CODES[code];
    const given = options.details;
    const details = given ? bounded(given, options.omitted ?? 0) : undefined;
    const total = given ? problemCount(given) + (options.omitted ?? 0) : 0;
    const text =
      message ?? (code === "VALIDATION_FAILED" ? namingFirstProblem(fallback, details ?? [], total) : fallback);
    super(cut(text, MAX_MESSAGE_CHARS));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = options.headers;
  }
}

/**
 * 401 AUTH_REQUIRED: its message is API.md's fixed text (apps and urBackend's SDK compare it), so
 * what to send is said in `details`.
 */
export const authRequired = () =>
  new ApiError("AUTH_REQUIRED", undefined, {
    details: [
      {
        path: "authorization",
        message: "send the signed-in user's access token (from signup or login) as Authorization: Bearer <accessToken>",
      },
    ],
  });

/** Shorthand for `new ApiError(...)`, for use in expressions. */
export function apiError(code: ErrorCode, message?: string, details?: ErrorDetail[]): ApiError {
  return new ApiError(code, message, details ? { details } : {});
}
