/**
 * A wildcard allowlist entry over a public suffix (`*.com`, `*.co.uk`, `*.github.io`, `*.vercel.app`)
 * lets every site under it use the project's publishable key: refused when the operator sets it.
 * So is one over a whole top-level name the list does not hold (`*.local`, `*.test`, `*.internal`):
 * names there are not registered, whoever answers on the network has them (any device on the LAN,
 * through mDNS, for `.local`). Checked here, where allowlists are written, so only the admin function
 * carries the Public Suffix List (tldts, private domains included); `*.localhost` stays allowed for
 * local development (only this machine answers for it), as does a wildcard over one's own name
 * under those (`*.myapp.local`).
 */
import { parse } from "tldts";
import type { z } from "zod";

export function refuseWildcardsOverPublicSuffixes(
  body: { allowedOrigins?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  body.allowedOrigins?.forEach((entry, index) => {
    if (!entry.startsWith("*.")) return;
    const suffix = entry.slice(2);
    const parsed = parse(suffix, { allowPrivateDomains: true });
    if (suffix === "localhost" || parsed.publicSuffix !== suffix) return;
    const listed = parsed.isIcann === true || parsed.isPrivate === true;
    const message = listed
      ? `${entry} would allow every site under the public suffix "${suffix}": name your own domain (*.example.com) or the exact origin`
      : `${entry} would allow every host under the top-level name "${suffix}", which anyone on the network can answer for (on a LAN any device takes a .local name through mDNS): name your own (*.myapp.${suffix}) or the exact host`;
    ctx.addIssue({ code: "custom", path: ["allowedOrigins", index], message });
  });
}
