import { compare, resolve } from "mingo/util";
import type { Doc, Sort } from "../../shared/store/types.js";

/**
 * Documents in MongoDB's order for `by`, as a plain reference: mingo's `compare` on each comparison,
 * but an array at a sort key sorts by its smallest element ascending and its largest descending
 * (an empty one first); equal keys keep their order.
 */
export function mongoOrder(docs: Doc[], by: Sort): Doc[] {
  const EMPTY = Symbol("empty array");
  const key = (v: unknown, dir: 1 | -1): unknown => {
    if (!Array.isArray(v)) return v ?? null;
    if (v.length === 0) return EMPTY;
    return v.reduce((best, item) => (compare(item ?? null, best ?? null) * dir < 0 ? item : best));
  };
  const cmp = (a: unknown, b: unknown) =>
    a === EMPTY || b === EMPTY ? (a === b ? 0 : a === EMPTY ? -1 : 1) : compare(a, b);
  const keys = Object.entries(by);
  return docs
    .map((d) => ({ d, k: keys.map(([f, dir]) => key(resolve(d, f), dir)) }))
    .sort((x, y) => {
      for (const [i, [, dir]] of keys.entries()) {
        const order = cmp(x.k[i], y.k[i]);
        if (order !== 0) return order * dir;
      }
      return 0;
    })
    .map((row) => row.d);
}
