/**
 * User regular expressions ($regex, `_regex`) and literal search terms.
 *
 * ReDoS heuristic: a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1, `{n}` with n > 1) may
 * not contain, at any depth, a quantifier that repeats a variable number of times (`*`, `+`,
 * `{n,}`, `{n,m}` with m > n and m > 1; `?` is fine) or an alternation `|`. So `(a+)+`, `(a*)*`,
 * `(a|a)*`, `((ab)+c)*` are refused; `(ab)+`, `(a?b)*`, `(a{3})+` and `^(red|green)$` are not.
 * With the `x` option the scan runs on the pattern with whitespace and comments removed, as PCRE
 * reads it. Polynomial patterns such as `a*a*a*b` are not detected: what bounds every pattern is
 * that it must be RE2 syntax (no lookaround, no backreferences), which the embedded store matches in
 * linear time (shared/linear-regexp.ts); MongoDB runs them in its own server.
 */

import { linearRegExp } from "../linear-regexp.js";

/** Why `_id` takes no pattern: MongoDB keeps ids as ObjectIds, which a pattern never matches. */
export const ID_PATTERN_REFUSED = "_id is matched exactly (=, _in, $eq, $in), not by a pattern";

/** Longest accepted pattern or search term, in characters. */
export const MAX_REGEX_LENGTH = 128;
/**
 * Largest count of a counted repetition (`{n}`, `{n,m}`). RE2 allows 1000, but its matching cost
 * grows with the compiled program: one `.{1000}` costs about 0.3 ms per document tested.
 */
const MAX_REPEAT_COUNT = 100;

const METACHARACTERS = /[.*+?^${}()|[\]\\]/g;
const OPTION_FLAGS = /^[imsx]*$/;
const BRACE_QUANTIFIER = /^\{(\d*)(?:(,)(\d*))?\}/;

/** Escapes every regex metacharacter so a term matches literally. */
export function escapeRegex(term: string): string {
  return term.replace(METACHARACTERS, "\\$&");
}

interface Quantifier {
  /** Matches a variable number of times, more than once (`*`, `+`, `{1,3}`; not `?`). */
  variable: boolean;
  /** May match more than once (`*`, `+`, `{2}`, `{0,5}`). */
  repeats: boolean;
  /** The largest count written in braces (0 for `*`, `+`, `?`). */
  count: number;
  end: number;
}

function readQuantifier(p: string, i: number): Quantifier | null {
  const c = p[i];
  let q: Quantifier | null = null;
  if (c === "*" || c === "+") q = { variable: true, repeats: true, count: 0, end: i + 1 };
  else if (c === "?") q = { variable: false, repeats: false, count: 0, end: i + 1 };
  else if (c === "{") {
    const m = BRACE_QUANTIFIER.exec(p.slice(i));
    if (!m || (m[1] === "" && m[3] === undefined) || (m[1] === "" && m[3] === "")) return null;
    const min = Number(m[1] || 0);
    const max = m[2] ? (m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3])) : min;
    const count = Math.max(min, Number.isFinite(max) ? max : 0);
    q = { variable: max > min && max > 1, repeats: max > 1, count, end: i + m[0].length };
  }
  if (q && (p[q.end] === "?" || p[q.end] === "+")) q.end += 1;
  return q;
}

function skipClass(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === "^") j += 1;
  while (j < p.length && p[j] !== "]") j += p[j] === "\\" ? 2 : 1;
  return j + 1;
}

function skipGroupPrefix(p: string, i: number): number {
  if (p[i] !== "?") return i;
  if (p[i + 1] === "<" && p[i + 2] !== "=" && p[i + 2] !== "!") {
    const close = p.indexOf(">", i);
    return close < 0 ? p.length : close + 1;
  }
  return i + (p[i + 1] === "<" ? 3 : 2);
}

/**
 * What the scan below refuses: a repeated group containing a variable quantifier or an alternation
 * (the ReDoS heuristic), or a counted repetition over MAX_REPEAT_COUNT.
 */
function scanProblem(p: string): string | null {
  const nested = "regex has nested quantifiers (possible catastrophic backtracking)";
  const counted = `regex repeats more than ${MAX_REPEAT_COUNT} times in braces`;
  const stack = [{ risky: false }];
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    const top = stack[stack.length - 1]!;
    if (c === "\\") i += 2;
    else if (c === "[") i = skipClass(p, i);
    else if (c === "(") {
      stack.push({ risky: false });
      i = skipGroupPrefix(p, i + 1);
    } else if (c === ")") {
      const group = stack.length > 1 ? stack.pop()! : { risky: false };
      const parent = stack[stack.length - 1]!;
      const q = readQuantifier(p, i + 1);
      if (group.risky && q?.repeats) return nested;
      if (q && q.count > MAX_REPEAT_COUNT) return counted;
      parent.risky ||= group.risky || q?.variable === true;
      i = q ? q.end : i + 1;
    } else if (c === "|") {
      top.risky = true;
      i += 1;
    } else {
      const q = readQuantifier(p, i);
      if (q && q.count > MAX_REPEAT_COUNT) return counted;
      if (q?.variable) top.risky = true;
      i = q ? q.end : i + 1;
    }
  }
  return null;
}

/** The pattern as PCRE reads it in extended mode: unescaped whitespace and `#` comments removed. */
export function stripExtended(p: string): string {
  let out = "";
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      out += p.slice(i, i + 2);
      i += 2;
    } else if (c === "[") {
      const end = skipClass(p, i);
      out += p.slice(i, end);
      i = end;
    } else if (c === "#") {
      const newline = p.indexOf("\n", i);
      i = newline < 0 ? p.length : newline + 1;
    } else {
      if (!/\s/.test(c)) out += c;
      i += 1;
    }
  }
  return out;
}

/** Why $options is refused, or null: only the flags i m s x, each once. */
export function optionsProblem(options: string): string | null {
  if (!OPTION_FLAGS.test(options)) return "$options may only contain the flags i, m, s and x";
  if (new Set(options).size !== options.length) return "$options repeats a flag";
  return null;
}

/** Why a user regex is refused (too long, NUL, not RE2 syntax, nested quantifiers, big counts), or null. */
export function regexProblem(pattern: string, options = ""): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
  if (pattern.includes("\0")) return "regex may not contain NUL";
  const badOptions = optionsProblem(options);
  if (badOptions) return badOptions;
  const scanned = options.includes("x") ? stripExtended(pattern) : pattern;
  try {
    linearRegExp(scanned, options.replace(/x/g, ""));
  } catch {
    return "invalid regular expression (RE2 syntax: no lookaround, no backreferences)";
  }
  return scanProblem(scanned);
}
