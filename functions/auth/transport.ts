/**
 * How refresh tokens travel (API.md §6): always as the project's HttpOnly cookie
 * `refreshToken_<projectId>` (refreshCookieName; Secure except on plain-http localhost, judged by
 * the request's URL and PUBLIC_URL's; SameSite from COOKIE_SAMESITE; scoped to /api/userAuth, the
 * only paths that read it), and also in the response body when the client asks for header mode
 * (`x-refresh-token-mode: header`) or itself sent the token in `x-refresh-token` or the body.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import type { Config } from "../../shared/config.js";
import { sha256Hex, timingSafeEqual } from "../../shared/crypto.js";
import { ApiError } from "../../shared/errors.js";
import { loopbackHost, originNamedOverTls, parseOrigin } from "../../shared/origin.js";
import type { ResolvedProject } from "../../shared/principal.js";

const COOKIE_PATH = "/api/userAuth";

/**
 * The cookie of one project's refresh token. Every project of a deployment shares the host and the
 * path, so under one name (API.md's `refreshToken`) a sign-in to one project, or another tenant's
 * page posting a login form, replaced the cookie of every other and signed its user out.
 */
export const refreshCookieName = (projectId: string) => `refreshToken_${projectId}`;

/** Where a request's refresh token came from. */
export type RefreshSource = "header" | "body" | "cookie";

/**
 * The refresh token a request carries: `x-refresh-token`, then body `refreshToken`, then the
 * project's cookie; `tokens` holds one token, or every copy of the cookie when several came.
 */
export function readRefreshToken(
  c: Context,
  body: unknown,
  projectId: string,
): { tokens: string[]; source: RefreshSource } | null {
  const header = c.req.header("x-refresh-token")?.trim();
  if (header) return { tokens: [header], source: "header" };
  const fromBody = (body as { refreshToken?: unknown } | undefined)?.refreshToken;
  if (typeof fromBody === "string" && fromBody !== "") return { tokens: [fromBody], source: "body" };
  const cookies = refreshCookiesOf(c, projectId);
  return cookies.length > 0 ? { tokens: cookies, source: "cookie" } : null;
}

/**
 * Every copy of the project's refresh-token cookie the request carries, in the order sent (empty
 * ones left out). The name has no `__Host-` prefix (its path is /api/userAuth), so a sibling
 * subdomain (Domain=) or plain http can plant a second copy, which the browser may send first
 * (longer Path, or older): hono's getCookie returns only that first one. Each `;`-separated pair is
 * read by hono's own parser, so a value is unquoted and decoded as getCookie does.
 */
export function refreshCookiesOf(c: Context, projectId: string): string[] {
  const name = refreshCookieName(projectId);
  const pairs = (c.req.header("cookie") ?? "").split(";");
  return pairs.flatMap((pair) => Object.values(parse(pair, name))).filter((value) => value !== "");
}

/**
 * The most distinct copies of the cookie a logout looks up: a planted copy or two explain several,
 * and one request must not cost a store read per copy a large Cookie header can hold (over 100).
 */
export const MAX_REFRESH_COOKIES = 4;

/** 401 for a refresh that carries several copies of the cookie: which one the browser holds for us is unknown. */
export const severalRefreshCookies = () =>
  new ApiError(
    "REFRESH_TOKEN_INVALID",
    "Several refresh cookies of this project came with this request (another site under this domain, or " +
      "a page over plain http, may have set one), so none was used: sign in again, and if it persists " +
      "clear this site's cookies",
  );

/**
 * The cookie is an ambient credential: the browser sends it for any page that calls the API (with
 * `COOKIE_SAMESITE=None`, pages of any site), and with an empty allowlist that page may read the
 * answer; and a page's form POST (a top-level navigation) may have the browser take a cookie from
 * the answer. So the cookie is used — spent, set, cleared — only for a request without `Origin`,
 * from the API's own origin (or PUBLIC_URL's), or from an origin the project's allowlist names
 * (over TLS unless an exact entry names it: originNamedOverTls). Elsewhere a page could spend it,
 * sign the browser in to the page's own account (login CSRF), or log its user out. Tokens a page
 * sends itself (header, body) need no such check.
 */
export function cookieOriginAllowed(c: Context, allowedOrigins: readonly string[], publicUrl: string | undefined) {
  const origin = c.req.header("origin");
  if (!origin) return true;
  return ownOrigin(c, origin, publicUrl) || originNamedOverTls(origin, allowedOrigins);
}

/** Whether `origin` is the API's own: the request's URL's or PUBLIC_URL's. */
const ownOrigin = (c: Context, origin: string, publicUrl: string | undefined) =>
  [new URL(c.req.url).origin, publicUrl && new URL(publicUrl).origin].includes(origin);

/**
 * Why no refresh cookie was set for the request's origin, and what to do; undefined when the origin
 * may use the cookie, or is no origin an allowlist could name (then the cause is something else).
 * Built only when failing or withholding the cookie.
 */
export function cookieWithheldReason(
  c: Context,
  allowedOrigins: readonly string[],
  publicUrl: string | undefined,
): string | undefined {
  const origin = c.req.header("origin");
  if (!origin || !parseOrigin(origin) || cookieOriginAllowed(c, allowedOrigins, publicUrl)) return undefined;
  // Only a bare-host or wildcard entry over plain http (not localhost) names an origin without
  // naming it for the cookie: an unlisted origin is refused before (ORIGIN_NOT_ALLOWED).
  const empty = allowedOrigins.length === 0;
  const why = empty
    ? "the project's allowedOrigins is empty"
    : "the project's allowedOrigins names it only by a hostname or wildcard entry, which counts over https alone";
  // A first entry turns the origin check on: said, or the advice would lock out the project's other clients.
  const effect = empty
    ? " (from then on publishable-key requests from origins it does not name, and without an Origin, are refused)"
    : "";
  return (
    `no refresh cookie is set for ${origin}: ${why}. Add ${origin} to the project's allowedOrigins${effect}, ` +
    "or sign in with `x-refresh-token-mode: header` and send the refresh token in `x-refresh-token`"
  );
}

/**
 * 401 for a refresh that carries no token at all. A page on another origin is told why its cookie
 * did not come: the allowlist does not name its origin, so none was set (cookieWithheldReason); or,
 * named, a browser neither stores nor sends a SameSite=Lax cookie on a cross-site fetch (localhost:5173
 * against 127.0.0.1:8787, an app's domain against workers.dev), and some block third-party cookies
 * whatever SameSite says; header mode needs no cookie.
 */
export function refreshTokenMissing(
  c: Context,
  allowedOrigins: readonly string[],
  publicUrl: string | undefined,
): ApiError {
  const origin = c.req.header("origin");
  if (!origin || ownOrigin(c, origin, publicUrl)) return new ApiError("REFRESH_TOKEN_INVALID", "Refresh token missing");
  const withheld = cookieWithheldReason(c, allowedOrigins, publicUrl);
  if (withheld) return new ApiError("REFRESH_TOKEN_INVALID", `Refresh token missing: ${withheld}`);
  return new ApiError(
    "REFRESH_TOKEN_INVALID",
    "Refresh token missing: no refresh cookie came with this request. A page on another site gets none " +
      "while COOKIE_SAMESITE is Lax, and some browsers block third-party cookies anyway: sign in with " +
      "`x-refresh-token-mode: header` and send the refresh token in `x-refresh-token`",
  );
}

/** 403 ORIGIN_NOT_ALLOWED for a refresh token read from the cookie by an origin that may not use it. */
export function assertCookieOrigin(c: Context, allowedOrigins: readonly string[], publicUrl: string | undefined) {
  if (cookieOriginAllowed(c, allowedOrigins, publicUrl)) return;
  throw new ApiError(
    "ORIGIN_NOT_ALLOWED",
    "A refresh-token cookie is accepted from other origins only when the project's allowlist names them",
  );
}

/** Whether the response body should carry the refresh token too. */
export function wantsRefreshInBody(c: Context, source?: RefreshSource): boolean {
  return (
    c.req.header("x-refresh-token-mode")?.trim().toLowerCase() === "header" || source === "header" || source === "body"
  );
}

/** Plain http to a loopback host (local development), where a browser keeps no Secure cookies. */
function plainLocalhost(url: URL): boolean {
  return url.protocol === "http:" && loopbackHost(url.hostname);
}

/**
 * Secure unless the browser is at plain-http localhost. The request's URL says where, and so does
 * PUBLIC_URL when set: behind a proxy the request may arrive as http://127.0.0.1 while the browser is
 * at PUBLIC_URL's https origin. Either one that is not plain-http localhost makes it Secure: neither
 * downgrades the other.
 */
function secureFor(c: Context, config: Pick<Config, "publicUrl">, sameSite: Config["cookieSameSite"]): boolean {
  return (
    sameSite === "None" ||
    !plainLocalhost(new URL(c.req.url)) ||
    (config.publicUrl !== undefined && !plainLocalhost(new URL(config.publicUrl)))
  );
}

/**
 * Sets the project's refresh-token cookie for `maxAgeSeconds`, where the request's origin may use it
 * (cookieOriginAllowed); another origin gets the token in the body only, when it asks for it.
 * Whether it was set.
 */
export function setRefreshCookie(
  c: Context,
  config: Config,
  project: Pick<ResolvedProject, "id" | "allowedOrigins">,
  token: string,
  maxAgeSeconds: number,
): boolean {
  if (!cookieOriginAllowed(c, project.allowedOrigins, config.publicUrl)) return false;
  setCookie(c, refreshCookieName(project.id), token, {
    httpOnly: true,
    secure: secureFor(c, config, config.cookieSameSite),
    sameSite: config.cookieSameSite,
    path: COOKIE_PATH,
    maxAge: maxAgeSeconds,
  });
  return true;
}

/** Clears the project's refresh-token cookie. */
export function clearRefreshCookie(c: Context, config: Config, projectId: string): void {
  deleteCookie(c, refreshCookieName(projectId), {
    httpOnly: true,
    secure: secureFor(c, config, config.cookieSameSite),
    sameSite: config.cookieSameSite,
    path: COOKIE_PATH,
  });
}

/**
 * The social sign-in's nonce, in the browser that started it (a forged callback link made by
 * someone else finds no cookie there; the landing link is another matter: docs/choices.md).
 * SameSite=Lax: it must come along on the provider's redirect back. `__Host-` (Secure, whole host,
 * no Domain), so a sibling subdomain or plain http cannot plant one; plain-http localhost, which
 * cannot have Secure cookies, uses the bare name. Set and read under the same name: a bare
 * `socialState` never stands in for the `__Host-` one.
 */
function socialCookie(c: Context, config: Pick<Config, "publicUrl">) {
  const secure = secureFor(c, config, "Lax");
  const options = { httpOnly: true, secure, sameSite: "Lax", path: secure ? "/" : "/api/userAuth/social" } as const;
  return { name: secure ? "__Host-socialState" : "socialState", options };
}

export function setSocialStateCookie(
  c: Context,
  config: Pick<Config, "publicUrl">,
  nonce: string,
  maxAgeSeconds: number,
): void {
  const { name, options } = socialCookie(c, config);
  setCookie(c, name, nonce, { ...options, maxAge: maxAgeSeconds });
}

/** Whether this browser started the sign-in with `nonce` (then its cookie is removed). */
export function takeSocialStateCookie(c: Context, config: Pick<Config, "publicUrl">, nonce: string): boolean {
  const { name, options } = socialCookie(c, config);
  const cookie = getCookie(c, name);
  if (cookie === undefined || !timingSafeEqual(sha256Hex(cookie), sha256Hex(nonce))) return false;
  deleteCookie(c, name, options);
  return true;
}
