/**
 * Social sign-in with GitHub or Google (urBackend's SDK `socialStart` / `socialExchange`; not in
 * API.md). Set up per project by the operator: `settings.social.{github,google}.{clientId,clientSecret}`
 * and `settings.social.redirectUrl`, the app's page the browser returns to.
 *
 * 1. GET /social/:provider/start?key=<pk> → 302 to the provider. The `state` is
 *    `<projectId>.<nonce>`; the nonce is kept hashed for 10 minutes, is good once, and is this
 *    browser's cookie too (transport.ts), which the callback must bring back (no forged callbacks).
 *    A PKCE verifier (S256) is kept sealed with it; the provider gets its challenge.
 * 2. GET /social/:provider/callback (the provider sends the browser here; no key) → the code, redeemed
 *    with the state's verifier (a code from another sign-in fails at the provider), becomes
 *    a verified profile, the profile a user (found by provider id, else a verified account with the
 *    email the provider verified, linked without its password and sessions, else created), the user a
 *    session; 302 to the redirect URL with
 *    `?rtCode&provider&userId&isNewUser&linkedByEmail` and the access token in `#token`.
 *    Failures after the state checked out go there too, as `?error=<reason>`.
 * 3. POST /social/exchange {token, rtCode} → {refreshToken} (once, within 60 s, with its access token).
 *
 * An app may bind the landing to the browser that started (its own PKCE, as Supabase's): a start with
 * `codeChallenge` (S256 of a verifier the app keeps) lands with `#rtCode` alone, and the exchange
 * takes {rtCode, codeVerifier} → {accessToken, refreshToken}. A landing link someone else made is then
 * worth nothing to the app that opens it: it holds no verifier for it (login CSRF).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../shared/app.js";
import { type ProfileSchema, profileSchema } from "../../shared/auth/profile.js";
import { createSession, revokeUserSessions } from "../../shared/auth/sessions.js";
import {
  newPkce,
  SOCIAL_SPECS,
  type SocialClient,
  type SocialProfile,
  SocialProviderError,
} from "../../shared/auth/social.js";
import { insertUser, type UserDoc } from "../../shared/auth/users.js";
import { createSecretBox, randomToken, sha256Base64url, sha256Hex, timingSafeEqual } from "../../shared/crypto.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { ok, parseWith, publicBaseUrl } from "../../shared/http.js";
import { isId, newId } from "../../shared/ids.js";
import { whileUnderWay } from "../../shared/in-flight.js";
import type { ResolvedProject } from "../../shared/principal.js";
import { limitRequest } from "../../shared/ratelimit/middleware.js";
import { isPlainObject } from "../../shared/sanitize.js";
import { SOCIAL_PROVIDERS, type SocialProvider } from "../../shared/settings.js";
import { signAccessToken } from "../../shared/tokens.js";
import { type AuthRuntime, type AuthScope, projectScope, scopeOf } from "./context.js";
import { readObject } from "./inputs.js";
import { setRefreshCookie, setSocialStateCookie, takeSocialStateCookie } from "./transport.js";

const STATE_TTL_MS = 10 * 60 * 1000;
const HANDOVER_TTL_MS = 60 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Where the runtime reaches the providers (tests hand in their own). */
export interface SocialOptions {
  fetch?: typeof fetch;
}

function providerOf(c: Context<AppEnv>): SocialProvider {
  const name = c.req.param("provider") ?? "";
  if (!(SOCIAL_PROVIDERS as readonly string[]).includes(name)) {
    throw new ApiError("NOT_FOUND", `Unknown sign-in provider; known: ${SOCIAL_PROVIDERS.join(", ")}`);
  }
  return name as SocialProvider;
}

/** The project's client at `provider` and its redirect URL; 403 FORBIDDEN when not set up. */
function socialSetup(c: Context<AppEnv>, rt: AuthRuntime, project: ResolvedProject, provider: SocialProvider) {
  const social = isPlainObject(project.settings.social) ? project.settings.social : {};
  const client = isPlainObject(social[provider]) ? social[provider] : {};
  const clientSecret = project.socialSecrets?.[provider];
  const { redirectUrl } = social;
  if (typeof client.clientId !== "string" || !clientSecret || typeof redirectUrl !== "string") {
    throw new ApiError("FORBIDDEN", `Sign-in with ${provider} is not set up for this project`);
  }
  const redirectUri = `${publicBaseUrl(c, rt.deps.config)}/api/userAuth/social/${provider}/callback`;
  return { client: { clientId: client.clientId, clientSecret, redirectUri } as SocialClient, redirectUrl };
}

/** The redirect URL with `params` in its query and `fragment` (if any) after `#`. */
function back(redirectUrl: string, params: Record<string, string>, fragment?: Record<string, string>): string {
  const url = new URL(redirectUrl);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  if (fragment) url.hash = new URLSearchParams(fragment).toString();
  return url.toString();
}

/** A callback whose state is not (or no longer) one this project's sign-in started. */
const expiredState = () => new ApiError("VALIDATION_FAILED", "Invalid or expired sign-in state; start again");

/** Why a sign-in failed, for the app's page: short, never the provider's own words. */
class SignInRefused extends Error {}

/**
 * The profile fields of a new account: the provider's name and picture where the project's profile
 * fields take them as they are (both, else either, else neither), with the defaults; nothing when the
 * project requires fields the provider does not give (the user fills them in with update-profile).
 * Taken as a publishable-key signup takes them: the user sets them at the provider, so a private or
 * readonly field refuses them and keeps its default.
 */
function providerProfile(schema: ProfileSchema, given: Record<string, unknown>): Record<string, unknown> {
  const present = Object.entries(given).filter(([, value]) => value !== undefined);
  const singly = present.length > 1 ? present.map((entry) => [entry]) : [];
  for (const entries of [present, ...singly, []]) {
    const details: ErrorDetail[] = [];
    const fields = schema.create(Object.fromEntries(entries), "publishable", details);
    if (details.length === 0) return fields;
  }
  return {};
}

/** The user a profile signs in as: by provider id, else by an email the provider verified, else a new one. */
async function userFor(rt: AuthRuntime, scope: AuthScope, provider: SocialProvider, profile: SocialProfile) {
  const { cols, now, project } = scope;
  const idField = `${provider}Id`;
  const known = (await cols.users.findOne({ [idField]: profile.providerUserId })) as UserDoc | null;
  if (known) return { user: known, isNewUser: false, linkedByEmail: false };
  if (!profile.email) throw new SignInRefused(`${provider} gave no email address for this account`);
  // An address the provider did not verify could be anyone's: it neither creates nor links an account.
  if (!profile.emailVerified) throw new SignInRefused(`the email address is not verified with ${provider}`);
  const at = iso(now);
  const byEmail = (await cols.users.findOne({ email: profile.email })) as UserDoc | null;
  if (byEmail) {
    // The account may have been opened by someone else with this address and a password of theirs
    // (and verified by an owner who followed a code): linking must not let them in. An unverified one
    // waits for a password reset, which proves the mailbox; a linked one keeps no password and no
    // session from before (the owner sets a password again with a reset).
    if (byEmail.emailVerified !== true) {
      throw new SignInRefused("an account with this email exists but is not verified; reset its password first");
    }
    const linked = (await cols.users.updateOne(
      { _id: byEmail._id, [idField]: { $exists: false } },
      {
        $set: { [idField]: profile.providerUserId, updatedAt: at, passwordChangedAt: at },
        $unset: { passwordHash: "", passwordId: "" },
      },
    )) as UserDoc | null;
    if (!linked) throw new SignInRefused(`this account is linked to another ${provider} account`);
    await revokeUserSessions(cols, linked._id, { now });
    return { user: linked, isNewUser: false, linkedByEmail: true };
  }
  const schema = await profileSchema(rt.deps, project);
  const given: Record<string, unknown> = { name: profile.name, avatarUrl: profile.avatarUrl };
  for (;;) {
    const user: UserDoc = {
      _id: newId(now),
      email: profile.email,
      ...providerProfile(schema, given),
      emailVerified: true,
      [idField]: profile.providerUserId,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await insertUser(rt.deps, project, cols, user);
      return { user, isNewUser: true, linkedByEmail: false };
    } catch (error) {
      // A unique profile field the provider's value went into, which someone else holds (a display
      // name): the account opens without that value, as when it does not fit. Identity fields (the
      // email, the provider id) are never the provider's profile values: their conflicts stand.
      const field = duplicateField(error);
      const providerFilled =
        field !== undefined && Object.hasOwn(given, field) && given[field] !== undefined && Object.hasOwn(user, field);
      if (!providerFilled) throw error;
      given[field] = undefined;
    }
  }
}

/** The field a users write's 409 DUPLICATE_VALUE names (a unique profile field), if that is the error. */
function duplicateField(error: unknown): string | undefined {
  return error instanceof ApiError && error.code === "DUPLICATE_VALUE" ? error.details?.[0]?.path : undefined;
}

/** An app's PKCE challenge (RFC 7636 S256: the base64url SHA-256 of its verifier) and verifier. */
const startSchema = z.object({
  codeChallenge: z
    .string()
    .regex(/^[\w-]{43}$/, "codeChallenge must be the base64url SHA-256 (S256) of a verifier")
    .optional(),
});
const verifierSchema = z
  .string()
  .regex(/^[\w.~-]{43,128}$/, "codeVerifier must be 43 to 128 characters of [A-Za-z0-9-._~]");

const exchangeSchema = z
  .object({
    token: z.string().min(1).max(4096).optional(),
    rtCode: z.string().min(1).max(128),
    codeVerifier: verifierSchema.optional(),
  })
  .refine((body) => body.token !== undefined || body.codeVerifier !== undefined, {
    message: "Give token (the landing URL's #token) or codeVerifier (when the start sent a codeChallenge)",
    path: ["token"],
  });

/** The callback, which the provider calls without an API key: mount it before requireApiKey. */
export function socialCallbackRoutes(rt: AuthRuntime, options: SocialOptions = {}): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const box = createSecretBox(rt.deps.config.encryptionKey);
  const fetcher = options.fetch ?? fetch;

  routes.get("/social/:provider/callback", async (c) => {
    const provider = providerOf(c);
    const [projectId = "", nonce = ""] = (c.req.query("state") ?? "").split(".");
    if (!isId(projectId) || nonce === "") throw expiredState();
    // Only the browser that started the sign-in carries its nonce (a link made by someone else does not).
    if (!takeSocialStateCookie(c, rt.deps.config, nonce)) throw expiredState();
    const project = await rt.deps.projects.resolveProject(projectId, { cached: true });
    if (!project) throw expiredState();
    // Under way until it ends, so that the project's deletion waits for the account, session and
    // handover it writes; refused as an expired state when that deletion began after the project resolved.
    return whileUnderWay(rt.deps.inFlight, project.id, expiredState, () => signIn(c, project, provider, nonce));
  });

  /** The callback once its state named a live project: the sign-in, landing on the app's page. */
  const signIn = async (c: Context<AppEnv>, project: ResolvedProject, provider: SocialProvider, nonce: string) => {
    await limitRequest(c, rt.deps, { project, keyType: "publishable" }, "");
    const scope = await projectScope(rt, project, "publishable");
    const { cols, now, settings } = scope;
    const state = { hash: sha256Hex(nonce), provider, expiresAt: { $gt: iso(now) } };
    const started = await cols.socialStates.deleteOne(state);
    const appChallenge = typeof started?.appChallenge === "string" ? started.appChallenge : undefined;
    // A state stored before PKCE has no verifier: its sign-in starts again.
    if (typeof started?.verifier !== "string") throw expiredState();
    const codeVerifier = await box.open(started.verifier);
    const { client, redirectUrl } = socialSetup(c, rt, project, provider);

    try {
      const refused = c.req.query("error");
      if (refused) {
        rt.deps.log.warn("social sign-in refused by the provider", {
          projectId: project.id,
          provider,
          error: refused.slice(0, 200),
        });
        throw new SignInRefused(refused === "access_denied" ? "cancelled" : `${provider} refused the sign-in`);
      }
      const code = c.req.query("code");
      if (!code) throw new SignInRefused(`${provider} sent no code`);
      const profile = await SOCIAL_SPECS[provider].profile(client, code, codeVerifier, fetcher, now);
      // Every user it signs in as has a verified email (so requireEmailVerification holds).
      const { user, isNewUser, linkedByEmail } = await userFor(rt, scope, provider, profile);
      const issued = await createSession(cols, {
        projectId: project.id,
        userId: user._id,
        now,
        ttlMs: settings.refreshTokenTtl * 1000,
        userAgent: c.req.header("user-agent"),
      });
      const { token } = await signAccessToken(project, user._id, {
        now,
        ttlSeconds: settings.accessTokenTtl,
        claims: { sid: issued.sessionId },
      });
      const rtCode = randomToken(24);
      // Bound to the app's verifier, the access token waits for the exchange rather than riding the link.
      const proof = appChallenge
        ? { appChallenge, accessToken: await box.seal(token) }
        : { tokenHash: sha256Hex(token) };
      await cols.socialHandovers.insertOne({
        hash: sha256Hex(rtCode),
        ...proof,
        refreshToken: await box.seal(issued.refreshToken),
        refreshExpiresAt: iso(issued.expiresAt),
        expiresAt: iso(now + HANDOVER_TTL_MS),
      });
      const params = {
        provider,
        userId: user._id,
        projectId: project.id,
        isNewUser: String(isNewUser),
        linkedByEmail: String(linkedByEmail),
      };
      // Bound to a verifier, the code is what a link's maker (who chose the challenge) could spend:
      // it rides the fragment, which no server log, analytics hit or Referer carries, as the token does.
      if (appChallenge) return c.redirect(back(redirectUrl, params, { rtCode }), 302);
      return c.redirect(back(redirectUrl, { rtCode, ...params }, { token }), 302);
    } catch (error) {
      const refusal =
        error instanceof SocialProviderError ||
        error instanceof SignInRefused ||
        (error instanceof ApiError && error.status < 500);
      if (!refusal) throw error;
      if (error instanceof SocialProviderError) {
        rt.deps.log.warn("social sign-in failed", {
          projectId: project.id,
          provider,
          error: String(error.cause ?? error),
        });
      }
      return c.redirect(back(redirectUrl, { error: `${provider} sign-in failed: ${error.message}` }), 302);
    }
  };

  return routes;
}

/** Start and exchange, behind requireApiKey. */
export function socialRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const box = createSecretBox(rt.deps.config.encryptionKey);

  routes.get("/social/:provider/start", async (c) => {
    const provider = providerOf(c);
    const { project, cols, now } = await scopeOf(c, rt);
    const { client } = socialSetup(c, rt, project, provider);
    const { codeChallenge } = parseWith(startSchema, { codeChallenge: c.req.query("codeChallenge") });
    const appChallenge = codeChallenge === undefined ? {} : { appChallenge: codeChallenge };
    const nonce = randomToken(24);
    // PKCE: the verifier stays here, sealed with the state; only its challenge goes to the provider.
    const pkce = newPkce();
    await cols.socialStates.insertOne({
      hash: sha256Hex(nonce),
      provider,
      verifier: await box.seal(pkce.verifier),
      ...appChallenge,
      expiresAt: iso(now + STATE_TTL_MS),
    });
    await cols.socialStates.deleteMany({ expiresAt: { $lte: iso(now) } });
    setSocialStateCookie(c, rt.deps.config, nonce, STATE_TTL_MS / 1000);
    return c.redirect(SOCIAL_SPECS[provider].authorizeUrl(client, `${project.id}.${nonce}`, pkce.challenge), 302);
  });

  routes.post("/social/exchange", async (c) => {
    const { token, rtCode, codeVerifier } = parseWith(exchangeSchema, await readObject(c));
    const { cols, now, project } = await scopeOf(c, rt);
    const invalid = () => new ApiError("TOKEN_INVALID", "Invalid or expired sign-in code");
    const handover = await cols.socialHandovers.deleteOne({ hash: sha256Hex(rtCode), expiresAt: { $gt: iso(now) } });
    await cols.socialHandovers.deleteMany({ expiresAt: { $lte: iso(now) } });
    if (!handover) throw invalid();
    const bound = typeof handover.appChallenge === "string";
    const proven = bound
      ? codeVerifier !== undefined && timingSafeEqual(sha256Base64url(codeVerifier), handover.appChallenge as string)
      : token !== undefined && timingSafeEqual(sha256Hex(token), String(handover.tokenHash));
    if (!proven) throw invalid();
    const refreshToken = await box.open(String(handover.refreshToken));
    const seconds = Math.max(0, Math.floor((Date.parse(String(handover.refreshExpiresAt)) - now) / 1000));
    setRefreshCookie(c, rt.deps.config, project, refreshToken, seconds);
    const tokens = bound
      ? { accessToken: await box.open(String(handover.accessToken)), refreshToken }
      : { refreshToken };
    return ok(c, tokens, 200, "Refresh token exchanged");
  });

  return routes;
}
