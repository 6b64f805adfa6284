/**
 * A wildcard allowlist entry over a public suffix (`*.com`, `*.co.uk`, `*.github.io`, `*.vercel.app`)
 * lets every site under it use the project's publishable key: refused when the operator sets it.
 * Checked here, where allowlists are written, so only the admin function carries the Public Suffix
 * List (tldts, private domains included); `*.localhost` stays allowed for local development.
 */
import { getPublicSuffix } from "tldts";
import type { z } from "zod";

export function refuseWildcardsOverPublicSuffixes(
  body: { allowedOrigins?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  body.allowedOrigins?.forEach((entry, index) => {
    if (!entry.startsWith("*.")) return;
    const suffix = entry.slice(2);
    if (suffix === "localhost" || getPublicSuffix(suffix, { allowPrivateDomains: true }) !== suffix) return;
    ctx.addIssue({
      code: "custom",
      path: ["allowedOrigins", index],
      message: `${entry} would allow every site under the public suffix "${suffix}": name your own domain (*.example.com) or the exact origin`,
    });
  });
}
