/**
 * Origin allowlists for publishable keys (API.md §3). Pure functions: entries are an exact
 * origin (`https://app.example.com`), a bare hostname (`app.example.com`, any scheme and port)
 * or a wildcard (`*.example.com`: the apex and every subdomain). Hostnames compare lower-case.
 */

/** One parsed origin: lower-case scheme and host, port made explicit for known schemes. */
export interface OriginParts {
  scheme: string;
  host: string;
  port: string;
}

/** A parsed allowlist entry. */
export type AllowlistEntry =
  | { kind: "exact"; origin: OriginParts }
  | { kind: "host"; host: string }
  | { kind: "wildcard"; suffix: string };

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const IPV6 = /^\[[0-9a-f:.]+\]$/;
/** scheme://authority and nothing else: no userinfo, path, query, fragment, backslash or space. */
const ORIGIN_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#@\\\s]+)$/i;
const DEFAULT_PORTS: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443" };

/** Parses `scheme://host[:port]` strictly; null for anything else (including the string "null"). */
export function parseOrigin(value: string): OriginParts | null {
  const shape = ORIGIN_SHAPE.exec(value);
  if (!shape) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const scheme = (shape[1] as string).toLowerCase();
  const host = url.hostname.toLowerCase();
  if (!HOSTNAME.test(host) && !IPV6.test(host)) return null;
  return { scheme, host, port: url.port || DEFAULT_PORTS[scheme] || "" };
}

/** Normalises a bare hostname (IDN → punycode, lower case); null when it is not a hostname. */
function parseHost(value: string): string | null {
  if (value === "" || /[\s/?#@\\:*%[\]]/.test(value)) return null;
  try {
    const host = new URL(`http://${value}`).hostname;
    return HOSTNAME.test(host) ? host : null;
  } catch {
    return null;
  }
}

/** An IPv4 address as the URL parser writes a host ending in a number (`1` → `0.0.0.1`, `168.1.1` → `168.1.0.1`). */
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** The opaque origin a sandboxed iframe or a file:// page sends: the string `null`, which names no site. */
const isOpaqueOrigin = (entry: string) => entry.toLowerCase() === "null";

/**
 * Parses one allowlist entry, new or stored; null when it is neither an exact origin, a hostname nor
 * `*.host`. New entries go through normalizeAllowlistEntry, which refuses more.
 */
export function parseAllowlistEntry(entry: string): AllowlistEntry | null {
  if (entry.includes("://")) {
    const origin = parseOrigin(entry);
    return origin ? { kind: "exact", origin } : null;
  }
  if (entry.startsWith("*.")) {
    const suffix = parseHost(entry.slice(2));
    return suffix ? { kind: "wildcard", suffix } : null;
  }
  const host = parseHost(entry);
  return host ? { kind: "host", host } : null;
}

/** `*.` over an IP address, which has no subdomains (and the URL parser rewrites: `*.1` → `*.0.0.0.1`). */
function isIpWildcard(entry: string): boolean {
  const rest = entry.startsWith("*.") ? entry.slice(2) : undefined;
  return rest !== undefined && (rest.startsWith("[") || IPV4.test(parseHost(rest) ?? ""));
}

/** Why parseAllowlistEntry refuses an entry, in words the operator can act on. */
export function allowlistEntryRefusal(entry: string): string {
  const value = entry.trim();
  if (isOpaqueOrigin(value)) {
    return 'the opaque "null" origin (sandboxed iframes, file:// pages) cannot be allowed: any page can send it. From a server, use the secret key';
  }
  if (isIpWildcard(value)) {
    return `${value} is a wildcard over an IP address, which has no subdomains: name the address itself (127.0.0.1) or an exact origin (http://127.0.0.1:3000)`;
  }
  return "must be an origin (https://app.example.com), a hostname (app.example.com) or *.example.com";
}

/** An origin followed by the root path's one `/`, as an address bar shows it (`http://localhost:5173/`). */
const ORIGIN_WITH_ROOT = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@\\\s]+)\/$/i;

/**
 * The canonical text of a new allowlist entry (lower case, default port dropped, the root path's `/`
 * an address bar adds dropped); null when invalid or refused: `null` (the opaque origin, which
 * parseOrigin never matches) and a wildcard over an IP address. Entries stored before those were
 * refused still load: `*.127.0.0.1` matches 127.0.0.1.
 */
export function normalizeAllowlistEntry(entry: string): string | null {
  const value = entry.trim().replace(ORIGIN_WITH_ROOT, "$1");
  if (isOpaqueOrigin(value) || isIpWildcard(value)) return null;
  const parsed = parseAllowlistEntry(value);
  if (!parsed) return null;
  if (parsed.kind === "host") return parsed.host;
  if (parsed.kind === "wildcard") return `*.${parsed.suffix}`;
  const { scheme, host, port } = parsed.origin;
  return `${scheme}://${host}${port && port !== DEFAULT_PORTS[scheme] ? `:${port}` : ""}`;
}

/** Parsed allowlists, per array (cached principals keep the same array, so this parses once). */
const compiled = new WeakMap<readonly string[], AllowlistEntry[]>();

function compile(allowlist: readonly string[]): AllowlistEntry[] {
  let entries = compiled.get(allowlist);
  if (!entries) {
    entries = allowlist.map(parseAllowlistEntry).filter((e): e is AllowlistEntry => e !== null);
    compiled.set(allowlist, entries);
  }
  return entries;
}

function entryMatches(entry: AllowlistEntry, origin: OriginParts): boolean {
  switch (entry.kind) {
    case "exact":
      return (
        entry.origin.scheme === origin.scheme && entry.origin.host === origin.host && entry.origin.port === origin.port
      );
    case "host":
      return entry.host === origin.host;
    case "wildcard":
      return origin.host === entry.suffix || origin.host.endsWith(`.${entry.suffix}`);
  }
}

/** Whether a request origin passes an allowlist; empty list = any origin, no origin = refused. */
export function originAllowed(origin: string | null, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  if (origin === null) return false;
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  return compile(allowlist).some((entry) => entryMatches(entry, parsed));
}

/** A loopback host (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`): only this machine reaches it. */
export function loopbackHost(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.endsWith(".localhost");
}

/**
 * Whether an allowlist names an origin for an ambient credential (the refresh cookie); an empty list
 * names none. A bare-host or wildcard entry matches any scheme, and a network attacker can serve any
 * page over plain http (no TLS to break), so through those entries only an `https:` origin counts,
 * or plain http on a loopback host (local development). An exact entry names its scheme: that is
 * the operator's explicit choice, `http://` included.
 */
export function originNamedOverTls(origin: string, allowlist: readonly string[]): boolean {
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  const secure = parsed.scheme === "https" || (parsed.scheme === "http" && loopbackHost(parsed.host));
  return compile(allowlist).some((entry) => (secure || entry.kind === "exact") && entryMatches(entry, parsed));
}

/** The caller's origin: the Origin header, else the origin of the Referer; null when neither is usable. */
export function requestOrigin(headers: { get(name: string): string | null }): string | null {
  const origin = headers.get("origin")?.trim();
  if (origin) return origin;
  const referer = headers.get("referer")?.trim();
  if (!referer) return null;
  try {
    const url = new URL(referer);
    return url.host ? `${url.protocol}//${url.host}` : null;
  } catch {
    return null;
  }
}
