import * as nodeCrypto from "node:crypto";
import { decodeKeyMaterial } from "./config.js";

const encoder = new TextEncoder();

/** Base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** `bytes` cryptographically random bytes, base64url encoded. */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

const oneShotHash = typeof nodeCrypto.hash === "function" ? nodeCrypto.hash : undefined;

/** SHA-256 of a UTF-8 string, in `encoding`. */
function sha256(text: string, encoding: "hex" | "base64url"): string {
  // node:crypto (Node, and Workers with nodejs_compat) hashes synchronously; crypto.subtle would cost
  // a thread-pool round trip on every request that resolves a key.
  // The one-shot hash() (Node ≥ 20.12) allocates no Hash object; runtimes without it use createHash.
  return oneShotHash
    ? oneShotHash("sha256", text, encoding)
    : nodeCrypto.createHash("sha256").update(text).digest(encoding);
}

/** SHA-256 of a UTF-8 string, as lower-case hex. */
export const sha256Hex = (text: string): string => sha256(text, "hex");

/** SHA-256 of a UTF-8 string, base64url encoded without padding (a PKCE S256 code challenge). */
export const sha256Base64url = (text: string): string => sha256(text, "base64url");

/** HMAC-SHA-256 of a UTF-8 string under a secret key, as lower-case hex (synchronous, as sha256 above). */
export const hmacSha256Hex = (key: string, text: string): string =>
  nodeCrypto.createHmac("sha256", key).update(text).digest("hex");

/** Compares two strings without an early exit (their length is not secret); unequal lengths are unequal. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const other = x.length === y.length ? y : x;
  let diff = x.length === y.length ? 0 : 1;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (other[i] as number);
  return diff === 0;
}

/** Compares a secret with its expected value in constant time, whatever their lengths. */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256Hex(given), sha256Hex(expected));
}

/** Seals secrets at rest with AES-256-GCM when a key is configured; `plain:` otherwise. */
export interface SecretBox {
  seal(plaintext: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

/** A SecretBox for the given ENCRYPTION_KEY (base64 or hex, 32 bytes), or a plain one without. */
export function createSecretBox(encryptionKey: string | undefined): SecretBox {
  const raw = encryptionKey ? decodeKeyMaterial(encryptionKey) : undefined;
  const key = raw ? crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]) : undefined;
  return {
    async seal(plaintext) {
      if (!key) return `plain:${plaintext}`;
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key, encoder.encode(plaintext));
      return `aes:${base64url(iv)}:${base64url(new Uint8Array(data))}`;
    },
    async open(sealed) {
      if (sealed.startsWith("plain:")) return sealed.slice("plain:".length);
      const [scheme, iv, data] = sealed.split(":");
      if (scheme !== "aes" || !iv || !data) throw new Error("Unknown sealed secret format");
      if (!key) throw new Error("ENCRYPTION_KEY is needed to open this secret");
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64url(iv) },
        await key,
        fromBase64url(data),
      );
      return new TextDecoder().decode(plain);
    },
  };
}
