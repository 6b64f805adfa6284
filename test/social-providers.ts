/**
 * GitHub and Google as fakes, reached through the fetch the auth app is given (createAuthApp's
 * `fetch`), and a project's social settings that point at them.
 */
import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

export const REDIRECT = "https://app.example.com/auth/callback";
export const SOCIAL = {
  redirectUrl: REDIRECT,
  github: { clientId: "gh-client", clientSecret: "gh-secret" },
  google: { clientId: "g-client.apps.googleusercontent.com", clientSecret: "g-secret" },
};

export interface Account {
  id: string;
  email: string;
  verified: boolean;
  name?: string;
  avatarUrl?: string;
}

/**
 * GitHub and Google as far as the sign-in uses them; `accounts` by the code the provider hands out.
 * PKCE as both do it: a code approved at an authorize URL (`approve`) keeps that URL's
 * `code_challenge`, and a token request for it needs the matching `code_verifier` (S256).
 */
export async function fakeProviders(now: () => number) {
  const accounts = new Map<string, Account>();
  const requests: string[] = [];
  /** code → the code_challenge of the authorize request the user approved (null: none sent). */
  const challenges = new Map<string, string | null>();
  /** Every token request: the code and the code_verifier it came with. */
  const redemptions: Array<{ code: string; verifier: string | null }> = [];
  /** RFC 7636's S256, computed here rather than by the code under test. */
  const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");
  const codeOk = (code: string, verifier: string | null) => {
    redemptions.push({ code, verifier });
    const challenge = challenges.get(code);
    return accounts.has(code) && (!challenge || (verifier !== null && s256(verifier) === challenge));
  };
  /** The user approves at the provider: the code it hands out remembers that authorize request's challenge. */
  const approve = (authorize: URL, code: string) => challenges.set(code, authorize.searchParams.get("code_challenge"));
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const idToken = {
    issuer: "https://accounts.google.com",
    audience: SOCIAL.google.clientId,
    key: privateKey,
    lifetimeSeconds: 3600,
  };
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    requests.push(url);
    const bearer = new Headers(init?.headers).get("authorization")?.replace("Bearer gho_", "") ?? "";
    if (url === "https://github.com/login/oauth/access_token") {
      const body = JSON.parse(String(init?.body));
      const good =
        body.client_id === "gh-client" &&
        body.client_secret === "gh-secret" &&
        codeOk(body.code, body.code_verifier ?? null);
      return json(
        good ? { access_token: `gho_${body.code}`, token_type: "bearer" } : { error: "bad_verification_code" },
      );
    }
    if (url === "https://api.github.com/user") {
      const account = accounts.get(bearer);
      const user = {
        id: Number(account?.id),
        login: "octo",
        name: account?.name ?? null,
        avatar_url: account?.avatarUrl ?? null,
        email: account?.email || null,
      };
      return account ? json(user) : json({}, 401);
    }
    if (url === "https://api.github.com/user/emails") {
      const account = accounts.get(bearer);
      return account ? json([{ email: account.email, primary: true, verified: account.verified }]) : json({}, 401);
    }
    if (url === "https://oauth2.googleapis.com/token") {
      const form = new URLSearchParams(String(init?.body));
      const code = form.get("code") ?? "";
      const account = accounts.get(code);
      if (!account || form.get("client_secret") !== "g-secret" || !codeOk(code, form.get("code_verifier"))) {
        return json({ error: "invalid_grant" }, 400);
      }
      const token = await new SignJWT({ email: account.email, email_verified: account.verified, name: account.name })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(idToken.issuer)
        .setAudience(idToken.audience)
        .setSubject(account.id)
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(Math.floor(now() / 1000) + idToken.lifetimeSeconds)
        .sign(idToken.key);
      return json({ id_token: token, access_token: "ya29" });
    }
    if (url === "https://www.googleapis.com/oauth2/v3/certs") return json({ keys: [jwk] });
    return json({ message: "not found" }, 404);
  }) as typeof fetch;
  return { accounts, requests, redemptions, approve, fetcher, idToken };
}
