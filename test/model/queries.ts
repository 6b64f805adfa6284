/**
 * List queries in the model: how a generated query is sent (query-string suffixes or `filter=` JSON,
 * three sort notations), and which documents in which order it must return (MongoDB's matching and
 * ordering of mixed types, null standing for a missing field).
 */
import type { Caller, Real } from "./harness.js";
import { type Body, canSee, type Doc, type Model } from "./model.js";

export type Op = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin" | "exists" | "regex";
export interface Cond {
  field: string;
  op: Op;
  /** What the model compares with ("$A"/"$B" stand for the users' ids); `raw` is what is sent when it differs (dates in other notations). */
  value: unknown;
  raw?: string | undefined;
}
export type SortKey = [string, 1 | -1];

export interface ListSpec {
  conds: Cond[];
  /** Render the filter as `filter=` JSON (else query-string suffixes). */
  json: boolean;
  /** An OR of two conditions (JSON only). */
  or?: [Cond, Cond] | undefined;
  sort: SortKey[];
  sortStyle: "minus" | "colon" | "sortBy";
  limit: number;
  fields?: string[] | undefined;
}

/** A query as sent, with the conditions the server got (ids resolved, repeated suffixes dropped). */
export interface SentQuery {
  params: URLSearchParams;
  conds: Cond[];
  or: [Cond, Cond] | undefined;
  sort: SortKey[];
}

// ---------------------------------------------------------------- matching and order (MongoDB)

/** MongoDB's order of types: null/missing, numbers, strings, (objects), booleans. */
const typeRank = (v: unknown) =>
  v === undefined || v === null
    ? 1
    : typeof v === "number"
      ? 2
      : typeof v === "string"
        ? 3
        : typeof v === "boolean"
          ? 5
          : 4;

function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1 || a === b) return 0;
  return (a as number) < (b as number) ? -1 : 1;
}

export const valueAt = (doc: Body, field: string) => (Object.hasOwn(doc, field) ? doc[field] : undefined);

function compares(op: "gt" | "gte" | "lt" | "lte", v: unknown, value: unknown): boolean {
  if (v === undefined || typeRank(v) !== typeRank(value)) return false;
  const o = compareValues(v, value);
  return op === "gt" ? o > 0 : op === "gte" ? o >= 0 : op === "lt" ? o < 0 : o <= 0;
}

function matches(doc: Body, c: Cond): boolean {
  const v = valueAt(doc, c.field);
  const orNull = v === undefined ? null : v; // null matches a missing field
  switch (c.op) {
    case "eq":
      return orNull === c.value;
    case "ne":
      return orNull !== c.value;
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return compares(c.op, v, c.value);
    case "in":
      return (c.value as unknown[]).includes(orNull);
    case "nin":
      return !(c.value as unknown[]).includes(orNull);
    case "exists":
      return (v !== undefined) === c.value;
    case "regex":
      return typeof v === "string" && new RegExp(c.value as string, "i").test(v);
  }
}

/** The sort the server uses: the keys, then `_id` in the last key's direction; by default -createdAt. */
function fullSort(keys: SortKey[]): SortKey[] {
  if (keys.length === 0)
    return [
      ["createdAt", -1],
      ["_id", -1],
    ];
  if (keys.at(-1)![0] === "_id") return keys;
  return [...keys, ["_id", keys.at(-1)![1]]];
}

export function compareDocs(a: Body, b: Body, sort: SortKey[]): number {
  for (const [field, dir] of sort) {
    const o = compareValues(valueAt(a, field), valueAt(b, field));
    if (o !== 0) return o * dir;
  }
  return 0;
}

/** What the caller sees of the model for a query: visible, matching, in order. */
export function expectedList(m: Model, r: Real, caller: Caller, q: Omit<SentQuery, "params">): Doc[] {
  const { conds, or, sort } = q;
  return [...m.docs.values()]
    .filter((d) => canSee(r, caller, d))
    .filter((d) => conds.every((c) => matches(d, c)))
    .filter((d) => !or || matches(d, or[0]) || matches(d, or[1]))
    .sort((a, b) => compareDocs(a, b, sort));
}

/** A document as a `fields=` projection returns it. */
export function projected(doc: Doc, fields: string[] | undefined): Body {
  if (!fields) return doc;
  const out: Body = { _id: doc._id };
  for (const f of fields) if (Object.hasOwn(doc, f)) out[f] = doc[f];
  return out;
}

// ---------------------------------------------------------------- rendering

const userValue = (r: Real, v: unknown) => (v === "$A" ? r.uid.A : v === "$B" ? r.uid.B : v);

function resolveCond(r: Real, c: Cond): Cond {
  return { ...c, value: Array.isArray(c.value) ? c.value.map((v) => userValue(r, v)) : userValue(r, c.value) };
}

function jsonCond(c: Cond): Body {
  const value = c.raw ?? c.value;
  if (c.op === "regex") return { [c.field]: { $regex: value, $options: "i" } };
  return { [c.field]: { [`$${c.op}`]: value } };
}

const hasNull = (c: Cond) => c.value === null || (Array.isArray(c.value) && c.value.includes(null));
const suffixKey = (c: Cond) => (c.op === "eq" ? c.field : `${c.field}_${c.op}`);

/** The conditions a query string can carry: the first of each repeated key. */
function firstOfEachKey(conds: Cond[]): Cond[] {
  const seen = new Set<string>();
  return conds.filter((c) => !seen.has(suffixKey(c)) && seen.add(suffixKey(c)));
}

function setFilter(params: URLSearchParams, conds: Cond[], or: [Cond, Cond] | undefined): void {
  const parts = [...conds.map(jsonCond), ...(or ? [{ $or: or.map(jsonCond) }] : [])];
  if (parts.length > 0) params.set("filter", JSON.stringify(parts.length === 1 ? parts[0] : { $and: parts }));
}

function setSuffixes(params: URLSearchParams, conds: Cond[]): void {
  for (const c of conds) {
    params.append(suffixKey(c), c.raw ?? (Array.isArray(c.value) ? c.value.map(String).join(",") : String(c.value)));
  }
}

function setSort(params: URLSearchParams, spec: ListSpec): void {
  const { sort, sortStyle } = spec;
  if (sort.length === 0) return;
  if (sortStyle === "sortBy" && sort.length === 1) {
    params.set("sortBy", sort[0]![0]);
    params.set("sortDirection", sort[0]![1] === 1 ? "asc" : "desc");
  } else if (sortStyle === "colon") {
    params.set("sort", sort.map(([f, d]) => `${f}:${d === 1 ? "asc" : "desc"}`).join(","));
  } else {
    params.set("sort", sort.map(([f, d]) => `${d === 1 ? "" : "-"}${f}`).join(","));
  }
}

export function renderQuery(r: Real, spec: ListSpec): SentQuery {
  const params = new URLSearchParams();
  const resolved = spec.conds.map((c) => resolveCond(r, c));
  const or = spec.or ? ([resolveCond(r, spec.or[0]), resolveCond(r, spec.or[1])] as [Cond, Cond]) : undefined;
  const json = spec.json || or !== undefined || resolved.some(hasNull);
  const conds = json ? resolved : firstOfEachKey(resolved);
  if (json) setFilter(params, conds, or);
  else setSuffixes(params, conds);
  setSort(params, spec);
  params.set("limit", String(spec.limit));
  if (spec.fields) params.set("fields", spec.fields.join(","));
  return { params, conds, or, sort: fullSort(spec.sort) };
}
