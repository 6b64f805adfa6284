import type { Context } from "hono";
import type { TrustedProxy } from "./ratelimit/config";

/**
 * The client's IP address as far as the deployment can vouch for it: Cloudflare's `cf-connecting-ip`
 * or the first `x-forwarded-for` hop only behind a proxy that sets them, else the socket's address
 * (Node servers; `requestContext.http.sourceIp` on Lambda). Headers a client sent itself are never read
 * unless the deployment says a trusted proxy overwrites them.
 */
export function clientIp(c: Context, trusted: TrustedProxy): string {
  if (trusted === "cloudflare") {
    const ip = c.req.header("cf-connecting-ip")?.trim();
    if (ip) return ip;
  }
  if (trusted === "xff") {
    const first = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (first) return first;
  }
  const env = c.env as
    | { incoming?: { socket?: { remoteAddress?: string } }; requestContext?: { http?: { sourceIp?: string } } }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.requestContext?.http?.sourceIp ?? "unknown";
}
