import type { Hono } from "hono";
import { requireApiKey } from "../../shared/api-key";
import { type AppEnv, createBaseApp } from "../../shared/app";
import { warmPasswordCheck } from "../../shared/auth/passwords";
import { createAuthStore } from "../../shared/auth/store";
import type { Deps } from "../../shared/deps";
import type { AuthRuntime } from "./context";
import { emailRoutes } from "./email";
import { loginRoutes } from "./login";
import { mailRoutes } from "./mail";
import { passwordRoutes } from "./password";
import { profileRoutes } from "./profile";
import { refreshRoutes } from "./refresh";
import { sessionRoutes } from "./sessions";
import { signupRoutes } from "./signup";
import { type SocialOptions, socialCallbackRoutes, socialRoutes } from "./social";

const PREFIX = "/api/userAuth";
const MAIL_PREFIX = "/api/mail";

/**
 * The auth function (API.md §6): end-user accounts, tokens, sessions and OTP mail, pk or sk in
 * `x-api-key`; and the app's own mail (`/api/mail/send`, secret key), which shares its mailer.
 */
export function createAuthApp(deps: Deps, options: SocialOptions = {}): Hono<AppEnv> {
  const app = createBaseApp(deps);
  const rt: AuthRuntime = { deps, store: createAuthStore(deps) };
  warmPasswordCheck(deps.config.bcryptCost);
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
