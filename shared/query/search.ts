/**
 * `search=term` (+ `searchFields=a,b`): case-insensitive literal substring match over string
 * fields. The term is trimmed and regex-escaped, never interpreted as a pattern. Without
 * `searchFields` it searches every declared string/email/url field the caller may read (pk:
 * not private); a schemaless collection needs `searchFields`.
 */
import { invalidQuery } from "./fail.js";
import { assertPath, resolveField } from "./paths.js";
import { escapeRegex, ID_PATTERN_REFUSED, MAX_REGEX_LENGTH } from "./regex.js";
import type { QueryContext, QueryFilter } from "./types.js";

/** Most fields one search may cover. */
export const MAX_SEARCH_FIELDS = 20;

const TEXT_TYPES = new Set(["string", "email", "url"]);

function defaultFields(ctx: QueryContext): string[] {
  if (!ctx.fields || ctx.fields.size === 0)
    throw invalidQuery("searchFields", "required to search a collection without declared fields");
  const readable = [...ctx.fields.keys()].filter((path) => {
    if (!TEXT_TYPES.has(ctx.fields!.get(path)!.type)) return false;
    try {
      assertPath("search", path, "filter", ctx);
      return true;
    } catch {
      return false;
    }
  });
  if (readable.length === 0) throw invalidQuery("search", "this collection has no searchable string fields");
  return readable;
}

function requestedFields(params: URLSearchParams, ctx: QueryContext): string[] | null {
  const raw = params.getAll("searchFields");
  if (raw.length === 0) return null;
  const fields = [
    ...new Set(
      raw
        .flatMap((value) => value.split(","))
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
  if (fields.length === 0) return null;
  if (fields.length > MAX_SEARCH_FIELDS) throw invalidQuery("searchFields", `at most ${MAX_SEARCH_FIELDS} fields`);
  for (const path of fields) {
    assertPath("searchFields", path, "filter", ctx);
    const { kind } = resolveField(path, ctx);
    if (kind === "id") throw invalidQuery("searchFields", ID_PATTERN_REFUSED);
    // A number, boolean or date never matches a text pattern: nothing would ever be found.
    if (kind !== null && !TEXT_TYPES.has(kind)) {
      throw invalidQuery(
        "searchFields",
        `"${path}" is a ${kind} field: search matches text (string, email, url); filter it with ${path}=<value>`,
      );
    }
  }
  return fields;
}

/** The search clause (`{$or: [{f: {$regex, $options: "i"}}, ...]}`), or undefined without a term. */
export function searchClause(params: URLSearchParams, ctx: QueryContext): QueryFilter | undefined {
  const fields = requestedFields(params, ctx);
  const term = params.get("search")?.trim();
  if (!term) return undefined;
  if (term.length > MAX_REGEX_LENGTH) throw invalidQuery("search", `longer than ${MAX_REGEX_LENGTH} characters`);
  if (term.includes("\0")) throw invalidQuery("search", "may not contain NUL");
  const pattern = escapeRegex(term);
  const clauses = (fields ?? defaultFields(ctx)).map((path) => ({ [path]: { $regex: pattern, $options: "i" } }));
  return clauses.length === 1 ? clauses[0] : { $or: clauses };
}
