/**
 * An ordered secondary index over one (dotted) field, in MongoDB's type-bracket order:
 * missing < null < numbers < strings < booleans, then by `_id` within equal keys.
 * Objects and arrays are not ordered here: their documents are kept aside as "irregular" and are
 * always handed to mingo as candidates, so the index only ever narrows, never decides.
 */

export type IndexKey = null | number | string | boolean;

const MISSING = 0;
const NULL = 1;
const NUMBER = 2;
const STRING = 3;
const BOOLEAN = 8;
/** The brackets `{f: null}` matches, and those `{f: {$ne: null}}` matches (among index keys). */
export const NULL_BRACKETS: readonly number[] = [MISSING, NULL];
export const VALUE_BRACKETS: readonly number[] = [NUMBER, STRING, BOOLEAN];

/** The BSON type bracket of an index key; undefined for values the index does not order. */
export function bracketOf(value: unknown): number | undefined {
  if (value === undefined) return MISSING;
  if (value === null) return NULL;
  switch (typeof value) {
    case "number":
      return Number.isNaN(value) ? undefined : NUMBER;
    case "string":
      return STRING;
    case "boolean":
      return BOOLEAN;
    default:
      return undefined;
  }
}

/**
 * Reads a dotted path as an index sees it; a path through an array yields that array (irregular).
 * Own properties only: a field named `valueOf` is missing from a document without it, not the
 * function every document inherits (which made all such documents one `unique` value).
 */
export function indexValue(doc: unknown, path: string): unknown {
  let current = doc;
  for (const part of path.split(".")) {
    if (Array.isArray(current)) return current;
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

interface Entry {
  b: number;
  k: IndexKey;
  id: string;
}

/** One end of a range; `inclusive` says whether the key itself is in. */
export interface Bound {
  key: IndexKey;
  inclusive: boolean;
}

/** Keys of one type bracket between optional bounds (the bracket's own ends when absent). */
export interface Range {
  bracket: number;
  lo?: Bound | undefined;
  hi?: Bound | undefined;
}

/** Orders two index keys: by type bracket, then by value. */
export function compareKeys(b1: number, k1: IndexKey, b2: number, k2: IndexKey): number {
  if (b1 !== b2) return b1 - b2;
  if (k1 === k2) return 0;
  return (k1 as string | number | boolean) < (k2 as string | number | boolean) ? -1 : 1;
}

export class SortedIndex {
  private readonly entries: Entry[] = [];
  /** Documents whose value is an object or an array: id → its JSON (for uniqueness). */
  readonly irregular = new Map<string, string>();

  constructor(
    readonly field: string,
    readonly unique: boolean,
  ) {}

  /** First position whose entry is ≥ (b, k[, id]), or > (b, k) when `after`. */
  private position(b: number, k: IndexKey, after: boolean, id?: string): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const e = this.entries[mid] as Entry;
      const c = compareKeys(e.b, e.k, b, k) || (id === undefined || e.id === id ? 0 : e.id < id ? -1 : 1);
      if (c < 0 || (after && c === 0)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** First position of bracket `b`, or just past it when `after`. */
  private bracketEdge(b: number, after: boolean): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const eb = (this.entries[mid] as Entry).b;
      if (eb < b || (after && eb === b)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The [start, end) positions of a range. */
  private span({ bracket, lo, hi }: Range): [number, number] {
    const start = lo ? this.position(bracket, lo.key, !lo.inclusive) : this.bracketEdge(bracket, false);
    const end = hi ? this.position(bracket, hi.key, hi.inclusive) : this.bracketEdge(bracket, true);
    return [start, Math.max(start, end)];
  }

  /** Adds a document's value (uniqueness already checked). */
  add(id: string, value: unknown): void {
    const b = bracketOf(value);
    if (b === undefined) this.irregular.set(id, JSON.stringify(value));
    else
      this.entries.splice(this.position(b, (value ?? null) as IndexKey, false, id), 0, {
        b,
        k: (value ?? null) as IndexKey,
        id,
      });
  }

  /** Removes a document's value as it was added. */
  remove(id: string, value: unknown): void {
    const b = bracketOf(value);
    if (b === undefined) {
      this.irregular.delete(id);
      return;
    }
    const i = this.position(b, (value ?? null) as IndexKey, false, id);
    if (this.entries[i]?.id === id) this.entries.splice(i, 1);
  }

  /** Replaces the whole content in one sort; for a unique index, returns the id of a clashing document. */
  rebuild(values: Iterable<[id: string, value: unknown]>): string | undefined {
    this.entries.length = 0;
    this.irregular.clear();
    for (const [id, value] of values) {
      const b = bracketOf(value);
      if (b === undefined) this.irregular.set(id, JSON.stringify(value));
      else this.entries.push({ b, k: (value ?? null) as IndexKey, id });
    }
    this.entries.sort((x, y) => compareKeys(x.b, x.k, y.b, y.k) || (x.id < y.id ? -1 : 1));
    if (!this.unique) return undefined;
    for (let i = 1; i < this.entries.length; i++) {
      const [prev, cur] = [this.entries[i - 1] as Entry, this.entries[i] as Entry];
      if (cur.b !== MISSING && compareKeys(prev.b, prev.k, cur.b, cur.k) === 0) return cur.id;
    }
    const seen = new Set<string>();
    for (const [id, json] of this.irregular) {
      if (seen.has(json)) return id;
      seen.add(json);
    }
    return undefined;
  }

  /** Whether another document already holds `value`; documents without the field never clash. */
  clashes(id: string, value: unknown): boolean {
    if (value === undefined) return false;
    const b = bracketOf(value);
    if (b === undefined) {
      const json = JSON.stringify(value);
      for (const [other, held] of this.irregular) if (other !== id && held === json) return true;
      return false;
    }
    const bound = { key: value as IndexKey, inclusive: true };
    const [start, end] = this.span({ bracket: b, lo: bound, hi: bound });
    for (let i = start; i < end; i++) if (this.entries[i]?.id !== id) return true;
    return false;
  }

  /** How many documents the index orders (irregular ones not included). */
  get size(): number {
    return this.entries.length;
  }

  /** How many documents a range holds (irregular ones not included). */
  count(range: Range): number {
    const [start, end] = this.span(range);
    return end - start;
  }

  /** The [start, end) positions of a union of ranges: in index order, overlapping ones merged. */
  private spans(ranges: readonly Range[]): Array<[number, number]> {
    const spans = ranges.map((range) => this.span(range)).filter(([start, end]) => end > start);
    spans.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [start, end] of spans) {
      const last = merged.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  }

  /**
   * Calls `visit` with the ids of a union of ranges (each entry once) or of all entries, in index
   * order, ascending (key, id) or the reverse, until it returns false. A callback, not a generator:
   * this is the hot loop of a find.
   */
  walk(direction: 1 | -1, ranges: readonly Range[] | undefined, visit: (id: string) => unknown): void {
    const spans = ranges === undefined ? [[0, this.entries.length] as [number, number]] : this.spans(ranges);
    if (direction === 1) {
      for (const [start, end] of spans)
        for (let i = start; i < end; i++) if (visit((this.entries[i] as Entry).id) === false) return;
    } else {
      for (let s = spans.length - 1; s >= 0; s--) {
        const [start, end] = spans[s] as [number, number];
        for (let i = end - 1; i >= start; i--) if (visit((this.entries[i] as Entry).id) === false) return;
      }
    }
  }
}
