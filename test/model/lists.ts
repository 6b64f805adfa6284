/**
 * Collection-wide operations: cursor walks (with writes between pages), numbered pages, counts, the
 * full check of everything stored and of the counters, and redefining or recreating the collection.
 */
import {
  type Caller,
  COLL,
  definition,
  documentsWritten,
  quotaCounter,
  type Real,
  req,
  type Shape,
} from "./harness.js";
import { type Body, type Doc, guestRefused, type Model } from "./model.js";
import { check, doDelete, doInsert, doUpdate, GUEST_REFUSED, type Res, same, verdict } from "./operations.js";
import {
  compareDocs,
  expectedList,
  type ListSpec,
  projected,
  renderQuery,
  type SentQuery,
  valueAt,
} from "./queries.js";

const listPath = (params: URLSearchParams) => `/api/data/${COLL}?${params.toString()}`;

/** A write by the secret key between two pages of a walk. */
export type Interleave =
  | { kind: "insert"; body: Body }
  | { kind: "delete"; pick: number }
  | { kind: "patch"; pick: number; body: Body };

export type Interleaved = Array<{ afterPage: number; op: Interleave }>;

/** Runs the writes due after `page`; returns the ids they changed. */
async function writeBetweenPages(m: Model, r: Real, interleaved: Interleaved, page: number): Promise<string[]> {
  const touched: string[] = [];
  for (const { op } of interleaved.filter((x) => x.afterPage === page)) {
    if (op.kind === "insert") {
      await doInsert(m, r, "sk", op.body);
      continue;
    }
    touched.push(m.pickId(op.pick));
    if (op.kind === "delete") await doDelete(m, r, "sk", op.pick, "none");
    else await doUpdate(m, r, "patch", "sk", op.pick, op.body, "none");
  }
  return touched;
}

/** A list request as the model judges it: who asks, the query as sent, the generated spec. */
interface Listing {
  caller: Caller;
  q: SentQuery;
  spec: ListSpec;
}

/**
 * One page of a walk: the model's documents after `position` (the previous page's last item, as its
 * sort values) and the paging fields. Returns the documents shown.
 */
function checkWalkPage(m: Model, r: Real, list: Listing, page: number, position: Body | undefined, res: Res): Doc[] {
  const { caller, q, spec } = list;
  const what = `walk by ${caller} ${q.params.toString()} page ${page}`;
  const all = expectedList(m, r, caller, q);
  const rest = position ? all.filter((d) => compareDocs(d, position, q.sort) > 0) : all;
  const want = rest.slice(0, spec.limit);
  verdict(r, res, { status: 200 }, what);
  const data = res.json.data;
  same(
    r,
    data.items.map((d: Doc) => d._id),
    want.map((d) => d._id),
    `${what}: ids`,
  );
  same(
    r,
    data.items,
    want.map((d) => projected(d, spec.fields)),
    `${what}: items`,
  );
  const paging = {
    total: all.length,
    limit: spec.limit,
    hasNext: rest.length > spec.limit,
    hasPrev: page > 0,
    page: page > 0 ? null : 1, // a cursor page has no number
  };
  const { total, limit, hasNext, hasPrev } = data;
  same(r, { total, limit, hasNext, hasPrev, page: data.page }, paging, `${what}: paging fields`);
  same(r, data.totalPages, Math.ceil(all.length / spec.limit), `${what}: totalPages`);
  check(r, (data.nextCursor !== null) === data.hasNext, `${what}: nextCursor vs hasNext`);
  return want;
}

/**
 * Follows `nextCursor` to the end, with writes between pages: each page is what the model holds
 * after the previous page's last item; no document is shown twice unless written meanwhile, and every
 * document that matched at the start and was not written meanwhile is shown.
 */
export async function doWalk(m: Model, r: Real, caller: Caller, spec: ListSpec, interleaved: Interleaved) {
  const list: Listing = { caller, q: renderQuery(r, spec), spec };
  const { q } = list;
  const what = `walk by ${caller} ${q.params.toString()}`;
  let res = await req(r, caller, "GET", listPath(q.params));
  if (guestRefused(r, caller)) return verdict(r, res, GUEST_REFUSED, what);
  const atStart = expectedList(m, r, caller, q).map((d) => d._id);
  const seen = new Set<string>();
  const touched = new Set<string>();
  let position: Body | undefined;
  for (let page = 0; ; page++) {
    check(r, page < 200, `${what}: too many pages`);
    const shown = checkWalkPage(m, r, list, page, position, res);
    for (const d of shown) {
      check(r, !seen.has(d._id) || touched.has(d._id), `${what}: ${d._id} shown twice`);
      seen.add(d._id);
    }
    if (!res.json.data.hasNext) break;
    const last = shown.at(-1)!;
    position = Object.fromEntries(q.sort.map(([f]) => [f, valueAt(last, f)]));
    for (const id of await writeBetweenPages(m, r, interleaved, page)) touched.add(id);
    const next = new URLSearchParams(q.params);
    next.set("cursor", res.json.data.nextCursor);
    res = await req(r, caller, "GET", listPath(next));
  }
  for (const id of atStart) {
    if (!touched.has(id) && m.docs.has(id)) check(r, seen.has(id), `${what}: ${id} skipped`);
  }
}

export async function doPage(m: Model, r: Real, caller: Caller, spec: ListSpec, page: number) {
  const q = renderQuery(r, spec);
  q.params.set("page", String(page));
  const what = `page ${page} by ${caller} ${q.params.toString()}`;
  const res = await req(r, caller, "GET", listPath(q.params));
  if (guestRefused(r, caller)) return verdict(r, res, GUEST_REFUSED, what);
  verdict(r, res, { status: 200 }, what);
  const all = expectedList(m, r, caller, q);
  const want = all.slice((page - 1) * spec.limit, page * spec.limit);
  const { items, total, hasNext, hasPrev } = res.json.data;
  same(
    r,
    items,
    want.map((d) => projected(d, spec.fields)),
    `${what}: items`,
  );
  const paging = { total: all.length, hasNext: all.length > page * spec.limit, hasPrev: page > 1 };
  same(r, { total, hasNext, hasPrev }, paging, `${what}: paging fields`);
}

export async function doCount(m: Model, r: Real, caller: Caller, spec: ListSpec) {
  const q = renderQuery(r, spec);
  q.params.set("count", "true");
  const what = `count by ${caller} ${q.params.toString()}`;
  const res = await req(r, caller, "GET", listPath(q.params));
  if (guestRefused(r, caller)) return verdict(r, res, GUEST_REFUSED, what);
  verdict(r, res, { status: 200 }, what);
  same(r, res.json.data, { count: expectedList(m, r, caller, q).length }, what);
}

/** Everything the secret key lists is the model's, and the quota and usage counters agree with it. */
export async function doFullCheck(m: Model, r: Real) {
  const everything: ListSpec = { conds: [], json: false, sort: [["_id", 1]], sortStyle: "minus", limit: 100 };
  await doWalk(m, r, "sk", everything, []);
  await checkCounters(m, r);
}

async function checkCounters(m: Model, r: Real) {
  if (r.quota !== undefined) {
    const counted = await quotaCounter(r);
    if (counted === undefined) check(r, !m.counterMade, "quota counter missing after a reservation");
    else same(r, counted, m.bytes() + m.leaked, "documentsBytes counter vs stored documents");
  }
  if (!m.usageUnknown) same(r, await documentsWritten(r), m.written, "usage documentsWritten");
}

/** Redefines the collection (PUT /api/schemas) with other indexes; making slug unique over duplicates is 409. */
export async function doReshape(m: Model, r: Real, shape: Shape) {
  const res = await req(r, "sk", "PUT", `/api/schemas/${COLL}`, definition(r.mode, shape));
  const what = `reshape ${JSON.stringify(shape)}`;
  const slugs = [...m.docs.values()].map((d) => d.slug).filter((s) => s !== undefined);
  if (shape.slug === "unique" && m.shape.slug !== "unique" && new Set(slugs).size !== slugs.length)
    return verdict(r, res, { status: 409, code: "DUPLICATE_VALUE" }, what);
  verdict(r, res, { status: 200 }, what);
  m.shape = { ...shape };
}

/**
 * Deletes the collection (its documents go, and exactly their bytes leave the quota counter: what it
 * counts beyond them stays) and defines it again.
 */
export async function doRecreate(m: Model, r: Real) {
  verdict(r, await req(r, "sk", "DELETE", `/api/schemas/${COLL}`), { status: 200 }, "delete collection");
  m.docs.clear();
  const res = await req(r, "sk", "POST", "/api/schemas", definition(r.mode, m.shape));
  verdict(r, res, { status: 201 }, "define collection again");
}
