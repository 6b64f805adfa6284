import type { Hono } from "hono";
import { requireApiKey } from "../../shared/api-key.js";
import { type AppEnv, createBaseApp } from "../../shared/app.js";
import { createAuthStore } from "../../shared/auth/store.js";
import type { Deps } from "../../shared/deps.js";
import { oneAtATime } from "../../shared/one-at-a-time.js";
import type { AuthRuntime } from "./context.js";
import { emailRoutes } from "./email.js";
import { loginRoutes } from "./login.js";
import { mailRoutes } from "./mail.js";
import { passwordRoutes } from "./password.js";
import { profileRoutes } from "./profile.js";
import { refreshRoutes } from "./refresh.js";
import { sessionRoutes } from "./sessions.js";
import { signupRoutes } from "./signup.js";
import { type SocialOptions, socialCallbackRoutes, socialRoutes } from "./social.js";

const PREFIX = "/api/userAuth";
const MAIL_PREFIX = "/api/mail";

/**
 * The auth function (API.md §6): end-user accounts, tokens, sessions and OTP mail, pk or sk in
 * `x-api-key`; and the app's own mail (`/api/mail/send`, secret key), which shares its mailer.
 */
export function createAuthApp(deps: Deps, options: SocialOptions = {}): Hono<AppEnv> {
  const app = createBaseApp(deps);
  const rt: AuthRuntime = { deps, store: createAuthStore(deps), userTurn: oneAtATime() };
  // The social sign-in callback is called by the provider, without a key: it comes before the key check.
  app.route(PREFIX, socialCallbackRoutes(rt, options));
  app.use(`${PREFIX}/*`, requireApiKey(deps));
  for (const routes of [
    signupRoutes,
    loginRoutes,
    refreshRoutes,
    profileRoutes,
    emailRoutes,
    passwordRoutes,
    sessionRoutes,
    socialRoutes,
  ]) {
    app.route(PREFIX, routes(rt));
  }
  app.use(`${MAIL_PREFIX}/*`, requireApiKey(deps));
  app.route(MAIL_PREFIX, mailRoutes(rt));
  return app;
}
