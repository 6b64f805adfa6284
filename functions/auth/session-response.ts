/** The session payload of API.md §6, written once for signup, login and refresh. */
import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { IssuedRefresh } from "../../shared/auth/sessions.js";
import type { UserDoc } from "../../shared/auth/users.js";
import { HINT_HEADER } from "../../shared/cors.js";
import { signAccessToken } from "../../shared/tokens.js";
import type { AuthRuntime, AuthScope } from "./context.js";
import { cookieWithheldReason, type RefreshSource, setRefreshCookie, wantsRefreshInBody } from "./transport.js";
import { userView } from "./views.js";

/**
 * Signs the access token for an issued refresh token, sets the cookie (setRefreshCookie), and returns
 * `{user, userId, accessToken, token, tokenType, expiresIn, expiresAt}` (+ `refreshToken` in header
 * mode); `userId` and `token` as urBackend's SDK types them. A session that got neither the cookie
 * nor the refresh token says why in `x-edgeback-hint`.
 */
export async function sessionPayload(
  c: Context<AppEnv>,
  rt: AuthRuntime,
  scope: AuthScope,
  user: UserDoc,
  issued: IssuedRefresh,
  source?: RefreshSource,
): Promise<Record<string, unknown>> {
  const ttl = scope.settings.accessTokenTtl;
  const { token, expiresAt } = await signAccessToken(scope.project, user._id, {
    now: scope.now,
    ttlSeconds: ttl,
    claims: { sid: issued.sessionId },
  });
  const refreshSeconds = Math.max(0, Math.floor((issued.expiresAt - scope.now) / 1000));
  const cookieSet = setRefreshCookie(c, rt.deps.config, scope.project, issued.refreshToken, refreshSeconds);
  const payload: Record<string, unknown> = {
    user: await userView(rt, scope, user),
    userId: user._id,
    accessToken: token,
    token,
    tokenType: "Bearer",
    expiresIn: ttl,
    expiresAt: new Date(expiresAt).toISOString(),
  };
  if (wantsRefreshInBody(c, source)) payload.refreshToken = issued.refreshToken;
  else if (!cookieSet) {
    // No cookie and no token in the body: this session cannot refresh. Said in a header, as the body
    // is urBackend's session shape (its SDK hands `data` to the app, and a `message` joins data).
    const reason = cookieWithheldReason(c, scope.project.allowedOrigins, rt.deps.config.publicUrl);
    if (reason) c.header(HINT_HEADER, reason);
  }
  return payload;
}
