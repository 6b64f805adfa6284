/**
 * Regular expressions that match in linear time. A RegExp whose matching runs on RE2 (re2js), so a
 * pattern written to backtrack (`(.?){26}.{26}`, `.*.*.*z`) costs time in proportion to the input,
 * never exponential or polynomial in it. Everything that matches a client's pattern or a client's
 * string against a pattern in this process goes through it: the embedded store's `$regex` and regex
 * expressions, and schema `pattern`s. RE2 has no lookaround and no backreferences.
 *
 * Linear is not cheap: a match costs up to about 27 ns (WORK_NS) per compiled instruction per input
 * character (`[a-b]{1,100}[cd]`, 202 instructions, takes 2.6 s over 500 000 characters). Every match
 * is charged its work before it starts: to the meter of the surrounding `metered` run (a query's
 * time budget, a document's validation), or else against MAX_MATCH_WORK (RegexWorkError past it).
 */
import { RE2JS } from "re2js";

/** Most work one unmetered match may take, in compiled instructions × input characters (about 0.5 s). */
export const MAX_MATCH_WORK = 20_000_000;
/** Worst measured time of one unit of work, in nanoseconds. */
export const WORK_NS = 30;

/** Charges a match's work before it runs; throws to refuse it. */
type Meter = (work: number) => void;
let meter: Meter | null = null;

/** Runs `run` (synchronous) with every match in it charged to `charge` (nested runs charge both). */
export function metered<T>(charge: Meter, run: () => T): T {
  const outer = meter;
  meter = outer
    ? (work) => {
        charge(work);
        outer(work);
      }
    : charge;
  try {
    return run();
  } finally {
    meter = outer;
  }
}

/** A match refused because its work (pattern size × input length) would pass MAX_MATCH_WORK. */
export class RegexWorkError extends Error {
  constructor() {
    super(`Matching this pattern against this text would take too long (over ${MAX_MATCH_WORK} steps)`);
    this.name = "RegexWorkError";
  }
}

const FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL };

/** A RegExp (for `instanceof` checks and `source`/`flags`) whose `exec`, and so `test`, use RE2. */
class LinearRegExp extends RegExp {
  readonly #re2: RE2JS;
  /** Compiled instructions: the work per input character. */
  readonly #size: number;

  constructor(source: string, flags: string) {
    super(source, flags);
    let re2Flags = 0;
    for (const flag of flags) {
      if (flag === "g" || flag === "y") throw new SyntaxError(`Flag ${flag} is not supported`);
      re2Flags |= FLAGS[flag] ?? 0;
    }
    this.#re2 = RE2JS.compile(source, re2Flags);
    this.#size = this.#re2.programSize();
  }

  override exec(input: string): RegExpExecArray | null {
    const text = String(input);
    const work = this.#size * text.length;
    if (meter) meter(work);
    else if (work > MAX_MATCH_WORK) throw new RegexWorkError();
    const matcher = this.#re2.matcher(text);
    if (!matcher.find()) return null;
    const groups: Array<string | undefined> = [];
    for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
    return Object.assign(groups, { index: matcher.start(), input: text }) as RegExpExecArray;
  }
}

const MAX_CACHED = 512;
const compiled = new Map<string, LinearRegExp>();

/** The linear-time RegExp for a pattern and flags (i, m, s, u), compiled once; throws SyntaxError when RE2 or JS refuses it. */
export function linearRegExp(source: string, flags = ""): RegExp {
  const key = `${flags}/${source}`;
  let re = compiled.get(key);
  if (!re) {
    if (compiled.size >= MAX_CACHED) compiled.clear();
    re = new LinearRegExp(source, flags);
    compiled.set(key, re);
  }
  return re;
}
