import type { Context } from "hono";
import type { AppEnv } from "./app.js";
import type { Clock } from "./deps.js";
import { ApiError } from "./errors.js";
import type { Caller } from "./rules.js";
import { bearerToken, verifyAccessToken } from "./tokens.js";

/**
 * The caller of a project-facing request: the key type, plus the end user of a valid Bearer token
 * sent with a publishable key. A bad token is remembered (not thrown) so rules decide the code;
 * an sk request never carries an end-user identity.
 */
export async function callerOf(c: Context<AppEnv>, clock: Clock): Promise<Caller> {
  const { project, keyType } = c.get("principal");
  const token = bearerToken(c.req.header("authorization"));
  if (keyType === "secret" || token === undefined) return { keyType, userId: null, tokenError: null };
  try {
    const { userId } = await verifyAccessToken(project, token, clock.now());
    return { keyType, userId, tokenError: null };
  } catch (error) {
    const code = error instanceof ApiError && error.code === "TOKEN_EXPIRED" ? "TOKEN_EXPIRED" : "TOKEN_INVALID";
    return { keyType, userId: null, tokenError: code };
  }
}
