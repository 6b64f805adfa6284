/**
 * Social sign-in providers (GitHub, Google), as urBackend offers them: where the browser is sent,
 * and how the code the provider sends back becomes a profile (with PKCE, S256, at both). GitHub's
 * verified primary email comes from its API; Google's from an id_token checked against Google's
 * published keys.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { randomToken, sha256Base64url } from "../crypto.js";
import type { SocialProvider } from "../settings.js";

/** A project's OAuth client at one provider. */
export interface SocialClient {
  clientId: string;
  clientSecret: string;
  /** Edgeback's callback for this provider (registered with the provider). */
  redirectUri: string;
}

/**
 * One sign-in's PKCE (RFC 7636, S256): the authorize URL carries the challenge, the code exchange
 * the verifier, which stays on the server (with the state), so a code that leaks from the browser
 * (URL bar, history, logs) is worth nothing in another sign-in.
 */
export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A new verifier (43 characters, 256 random bits) and its S256 challenge. */
export function newPkce(): Pkce {
  const verifier = randomToken(32);
  return { verifier, challenge: sha256Base64url(verifier) };
}

/** Who signed in, as the provider vouches. */
export interface SocialProfile {
  providerUserId: string;
  /** Lower-cased; "" when the provider gave none. */
  email: string;
  /** Whether the provider verified that the user owns `email`. */
  emailVerified: boolean;
  name?: string;
  avatarUrl?: string;
}

/** The provider refused, answered nonsense or did not answer: never shown beyond a short reason. */
export class SocialProviderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SocialProviderError";
  }
}

type Fetch = typeof fetch;
const TIMEOUT_MS = 5_000;

/** A provider's JSON answer to a request, or a SocialProviderError. */
async function providerJson(fetcher: Fetch, url: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetcher(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new SocialProviderError("The provider could not be reached", { cause: error });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || body === null) throw new SocialProviderError(`The provider answered ${response.status}`);
  return body;
}

const field = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

interface ProviderSpec {
  authorizeUrl(client: SocialClient, state: string, codeChallenge: string): string;
  profile(
    client: SocialClient,
    code: string,
    codeVerifier: string,
    fetcher: Fetch,
    now: number,
  ): Promise<SocialProfile>;
}

const github: ProviderSpec = {
  authorizeUrl: (client, state, codeChallenge) =>
    `https://github.com/login/oauth/authorize?${new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      scope: "read:user user:email",
      state,
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
    })}`,
  async profile(client, code, codeVerifier, fetcher) {
    const token = await providerJson(fetcher, "https://github.com/login/oauth/access_token", {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        code,
        redirect_uri: client.redirectUri,
        code_verifier: codeVerifier,
      }),
    });
    const accessToken = text(field(token, "access_token"));
    if (!accessToken) throw new SocialProviderError("GitHub did not accept the code");
    const headers = {
      authorization: `Bearer ${accessToken}`,
      accept: "application/vnd.github+json",
      "user-agent": "edgeback-social-sign-in",
    };
    const [user, emails] = await Promise.all([
      providerJson(fetcher, "https://api.github.com/user", { headers }),
      providerJson(fetcher, "https://api.github.com/user/emails", { headers }),
    ]);
    const id = field(user, "id");
    if (typeof id !== "number" && !text(id)) throw new SocialProviderError("GitHub sent no user id");
    const verified = (Array.isArray(emails) ? emails : []).filter(
      (entry) => field(entry, "verified") === true && text(field(entry, "email")),
    );
    const chosen = verified.find((entry) => field(entry, "primary") === true) ?? verified[0];
    const email = text(field(chosen, "email")) ?? text(field(user, "email")) ?? "";
    return {
      providerUserId: String(id),
      email: email.trim().toLowerCase(),
      emailVerified: chosen !== undefined,
      name: text(field(user, "name")) ?? text(field(user, "login")),
      avatarUrl: text(field(user, "avatar_url")),
    };
  },
};

const GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"];
const GOOGLE_KEYS_URL = "https://www.googleapis.com/oauth2/v3/certs";
const GOOGLE_KEYS_TTL_MS = 60 * 60 * 1000;
let googleKeys: { keys: JSONWebKeySet; fetchedAt: number; fetcher: Fetch } | undefined;

/** Google's signing keys, fetched at most once an hour per instance (and again for an unknown key id). */
async function googleKeySet(fetcher: Fetch, now: number, refresh = false): Promise<JSONWebKeySet> {
  if (!refresh && googleKeys && googleKeys.fetcher === fetcher && now - googleKeys.fetchedAt < GOOGLE_KEYS_TTL_MS) {
    return googleKeys.keys;
  }
  const body = await providerJson(fetcher, GOOGLE_KEYS_URL);
  if (!Array.isArray(field(body, "keys"))) throw new SocialProviderError("Google's keys could not be read");
  googleKeys = { keys: body as JSONWebKeySet, fetchedAt: now, fetcher };
  return googleKeys.keys;
}

const google: ProviderSpec = {
  authorizeUrl: (client, state, codeChallenge) =>
    `https://accounts.google.com/o/oauth2/v2/auth?${new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      response_type: "code",
      scope: "openid email profile",
      state,
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
    })}`,
  async profile(client, code, codeVerifier, fetcher, now) {
    const token = await providerJson(fetcher, "https://oauth2.googleapis.com/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        code,
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uri: client.redirectUri,
        grant_type: "authorization_code",
        code_verifier: codeVerifier,
      }).toString(),
    });
    const idToken = text(field(token, "id_token"));
    if (!idToken) throw new SocialProviderError("Google did not accept the code");
    const options = {
      issuer: GOOGLE_ISSUERS,
      audience: client.clientId,
      algorithms: ["RS256"],
      currentDate: new Date(now),
    };
    const verify = async (refresh: boolean) =>
      jwtVerify(idToken, createLocalJWKSet(await googleKeySet(fetcher, now, refresh)), options);
    const { payload } = await verify(false)
      .catch((error: unknown) => {
        // Google rotates its keys: a key id not seen yet is looked up once more.
        if ((error as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY") return verify(true);
        throw error;
      })
      .catch((error: unknown) => {
        throw new SocialProviderError("Google's id_token did not verify", { cause: error });
      });
    const sub = text(payload.sub);
    if (!sub) throw new SocialProviderError("Google sent no user id");
    return {
      providerUserId: sub,
      email: (text(payload.email) ?? "").trim().toLowerCase(),
      emailVerified: payload.email_verified === true,
      name: text(payload.name),
      avatarUrl: text(payload.picture),
    };
  },
};

export const SOCIAL_SPECS: Record<SocialProvider, ProviderSpec> = { github, google };
