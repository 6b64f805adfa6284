import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { sha256Hex } from "./crypto.js";
import { ApiError } from "./errors.js";
import { newId } from "./ids.js";

/** The issuer of every Edgeback access token. */
export const TOKEN_ISSUER = "edgeback";

/** The audience of a project's access tokens: a token of project A never verifies for B. */
export const tokenAudience = (projectId: string) => `edgeback:${projectId}`;

/** What signing and verifying need of a project. */
export interface TokenProject {
  id: string;
  jwtSecret: string;
}

const encoder = new TextEncoder();

/** Imported HMAC keys by project secret: importing costs more than verifying. Bounded; cleared when full. */
const MAX_KEYS = 1000;
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    if (hmacKeys.size >= MAX_KEYS) hmacKeys.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** Signs an HS256 access token for a user of a project (claims of API.md §6). */
export async function signAccessToken(
  project: TokenProject,
  userId: string,
  options: { now: number; ttlSeconds: number; claims?: Record<string, unknown> },
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(options.now / 1000);
  const exp = iat + options.ttlSeconds;
  const token = await new SignJWT({ ...options.claims, userId, pid: project.id })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(tokenAudience(project.id))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(newId(options.now))
    .sign(await hmacKey(project.jwtSecret));
  return { token, expiresAt: exp * 1000 };
}

/** The verified identity inside an access token. */
export interface VerifiedToken {
  userId: string;
  claims: Record<string, unknown>;
}

/**
 * Tokens that verified, by the SHA-256 of the token (a lookup by the token itself would compare it with
 * the remembered ones character by character): a token verifies the same way until it expires.
 */
const MAX_VERIFIED = 10_000;
const verifiedTokens = new Map<string, { projectId: string; secret: string; exp: number; verified: VerifiedToken }>();

/**
 * Verifies an access token for a project: HS256 only, its secret, issuer, audience, `pid`, expiry
 * and not-before. Expired → TOKEN_EXPIRED; anything else wrong → TOKEN_INVALID. A token that verified
 * before for the same project and secret is only checked for expiry again (bounded cache).
 */
export async function verifyAccessToken(project: TokenProject, token: string, now: number): Promise<VerifiedToken> {
  const digest = sha256Hex(token);
  const known = verifiedTokens.get(digest);
  if (known && known.projectId === project.id && known.secret === project.jwtSecret) {
    if (known.exp <= Math.floor(now / 1000)) throw new ApiError("TOKEN_EXPIRED");
    return known.verified;
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await hmacKey(project.jwtSecret), {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: tokenAudience(project.id),
      currentDate: new Date(now),
      requiredClaims: ["sub", "exp", "iat"],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new ApiError("TOKEN_EXPIRED");
    throw new ApiError("TOKEN_INVALID");
  }
  if (payload.pid !== project.id || typeof payload.sub !== "string" || payload.userId !== payload.sub) {
    throw new ApiError("TOKEN_INVALID");
  }
  const verified: VerifiedToken = Object.freeze({ userId: payload.sub, claims: Object.freeze(payload) });
  if (verifiedTokens.size >= MAX_VERIFIED) verifiedTokens.clear();
  verifiedTokens.set(digest, {
    projectId: project.id,
    secret: project.jwtSecret,
    exp: payload.exp as number,
    verified,
  });
  return verified;
}

/** The token in `Authorization: Bearer <token>`, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
