import type { Context } from "hono";
import type { TrustedProxy } from "./ratelimit/config.js";

/** An IPv6 address in text form (the tail may be IPv4), by syntax. */
const IPV6 = String.raw`(?=[0-9a-f]*:)[0-9a-f:]{2,39}(?::\d{1,3}(?:\.\d{1,3}){3})?`;
/**
 * An IPv4 or IPv6 address in text form, with the port some proxies append (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`), IPv6 bare or bracketed (`[2001:db8::1]`): group 1, 2 or 3 is the address.
 * A syntax check of what a header may name.
 */
const IP_TEXT = new RegExp(
  String.raw`^(?:(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?|\[(${IPV6})\](?::\d{1,5})?|(${IPV6}))$`,
  "i",
);

/** The address a header value names, or undefined when it is not an IP address. */
function ipOf(value: string | undefined): string | undefined {
  const match = value === undefined ? null : IP_TEXT.exec(value.trim());
  const ip = match?.[1] ?? match?.[2] ?? match?.[3];
  return ip !== undefined && ip.split("::").length <= 2 ? ip : undefined;
}

/**
 * The client's IP address as far as the deployment can vouch for it: Cloudflare's `cf-connecting-ip`,
 * or the last `x-forwarded-for` hop (the address the trusted proxy saw and appended; a proxy that
 * overwrites the header sends only that one), only behind a proxy that sets them; else the socket's
 * address (Node servers; on Lambda the source IP API Gateway saw: `requestContext.http.sourceIp` in
 * HTTP API events, `requestContext.identity.sourceIp` in REST API ones). Headers a client sent itself
 * are never read unless the deployment says a trusted proxy sets them, and a value that is not an
 * IP address is ignored.
 */
export function clientIp(c: Context, trusted: TrustedProxy): string {
  const header =
    trusted === "cloudflare"
      ? c.req.header("cf-connecting-ip")
      : trusted === "xff"
        ? c.req.header("x-forwarded-for")?.split(",").at(-1)
        : undefined;
  const ip = ipOf(header);
  if (ip) return ip;
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } };
        requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } };
      }
    | undefined;
  const lambda = env?.requestContext;
  return env?.incoming?.socket?.remoteAddress ?? lambda?.http?.sourceIp ?? lambda?.identity?.sourceIp ?? "unknown";
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/**
 * Whom a per-IP rate limit counts: an IPv4 address as is (IPv4-mapped IPv6 too), an IPv6 address by
 * its /64 network (`2001:db8:1:2::/64`), since one subscriber is given a whole /64 and could
 * otherwise take a fresh address, and a fresh budget, for every request. Anything else as is.
 */
export function rateLimitSubject(ip: string): string {
  const address = ip.trim().toLowerCase().replace(/%.*$/, "");
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) return mapped[1] as string;
  if (!address.includes(":")) return address;
  const halves = address.split("::");
  if (halves.length > 2) return address;
  const groupsOf = (half: string | undefined) => (half ? half.split(":") : []);
  const left = groupsOf(halves[0]);
  const right = groupsOf(halves[1]);
  const ipv4Tail = (right.at(-1) ?? left.at(-1) ?? "").includes(".") ? 1 : 0;
  const missing = 8 - left.length - right.length - ipv4Tail;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return address;
  const prefix = [...left, ...Array<string>(missing).fill("0"), ...right].slice(0, 4);
  if (!prefix.every((group) => HEXTET.test(group))) return address;
  return `${prefix.map((group) => Number.parseInt(group, 16).toString(16)).join(":")}::/64`;
}
