/** POST /refresh-token and POST /logout (API.md §6): refresh-token rotation and session revocation. */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { revokeSession, rotateRefreshToken, sessionOfRefreshToken } from "../../shared/auth/sessions.js";
import { ok, readJson } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";
import { bearerToken, verifyAccessToken } from "../../shared/tokens.js";
import { type AuthRuntime, scopeOf } from "./context.js";
import { sessionPayload } from "./session-response.js";
import {
  assertCookieOrigin,
  clearRefreshCookie,
  cookieOriginAllowed,
  MAX_REFRESH_COOKIES,
  readRefreshToken,
  refreshCookiesOf,
  refreshTokenMissing,
  severalRefreshCookies,
} from "./transport.js";

export function refreshRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/refresh-token", async (c) => {
    const scope = await scopeOf(c, rt);
    const { settings, cols, now } = scope;
    const sent = readRefreshToken(c, await readJson(c), scope.project.id);
    if (!sent) throw refreshTokenMissing(c, scope.project.allowedOrigins, rt.deps.config.publicUrl);
    if (sent.source === "cookie") assertCookieOrigin(c, scope.project.allowedOrigins, rt.deps.config.publicUrl);
    // Several copies of the cookie: spending the first could sign the browser in to the account of
    // whoever planted it (login CSRF), so none is spent.
    const [token, ...more] = sent.tokens;
    if (token === undefined || more.length > 0) throw severalRefreshCookies();
    const issued = await rotateRefreshToken(cols, token, {
      projectId: scope.project.id,
      now,
      ttlMs: settings.refreshTokenTtl * 1000,
    });
    return ok(c, await sessionPayload(c, rt, scope, issued.user, issued, sent.source));
  });

  /**
   * Revokes the session of the refresh token sent (or of the Bearer token's session); 200, except that
   * the ambient cookie logs out only from an origin that may spend it (else a foreign page could log a
   * user out). A spent token of a live session logs it out too, also one spent
   * just now by a parallel refresh (REFRESH_REUSE_WINDOW_MS): logging out is what its holder asks for,
   * and a spent token can end its session by a refresh after the window anyway — it never keeps one.
   */
  routes.post("/logout", async (c) => {
    const scope = await scopeOf(c, rt);
    const { cols, now, project } = scope;
    const { publicUrl } = rt.deps.config;
    const sent = readRefreshToken(c, await readJson(c), project.id);
    if (sent?.source === "cookie") assertCookieOrigin(c, project.allowedOrigins, publicUrl);
    // The project's own cookie, cleared only where this origin may use it (a foreign page that sends
    // a token in the body must not log the browser out of the app). Every copy of it is revoked with
    // it: when a planted copy came first, the browser's real session would otherwise stay live while
    // its cookie is cleared. More copies than MAX_REFRESH_COOKIES are no browser's: none of them is
    // looked up, and the cookie is still cleared.
    const copies = new Set(
      cookieOriginAllowed(c, project.allowedOrigins, publicUrl) ? refreshCookiesOf(c, project.id) : [],
    );
    const given = sent?.source === "cookie" ? [] : (sent?.tokens ?? []); // a header or body token
    let revoked = false;
    for (const token of new Set([...given, ...(copies.size <= MAX_REFRESH_COOKIES ? copies : [])])) {
      const session = await sessionOfRefreshToken(cols, token, project.id);
      if (session) revoked = (await revokeSession(cols, session)) || revoked;
    }
    const bearer = bearerToken(c.req.header("authorization"));
    if (bearer) {
      const verified = await verifyAccessToken(project, bearer, now).catch(() => null);
      const sid = verified?.claims.sid;
      if (verified && isId(sid)) revoked = (await revokeSession(cols, sid, verified.userId)) || revoked;
    }
    if (copies.size > 0) clearRefreshCookie(c, rt.deps.config, project.id);
    // `success` inside data too: urBackend's logout answers no data, so its SDK hands the app the
    // whole body, whose `success` apps test (the SDK documents `{success}`); with data it hands that.
    return ok(c, { success: true, loggedOut: true, revoked }, 200, "Logged out");
  });

  return routes;
}
