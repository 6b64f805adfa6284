/** fast-check commands over the model's operations, and the arbitraries that generate them. */
import fc from "fast-check";
import { doCloseMidFlight, doConcurrent } from "./concurrent.js";
import { type Caller, type Real, restart, type Shape } from "./harness.js";
import {
  doCount,
  doFullCheck,
  doPage,
  doRecreate,
  doReshape,
  doWalk,
  type Interleave,
  type Interleaved,
} from "./lists.js";
import type { Body, Model } from "./model.js";
import {
  doBulk,
  doDelete,
  doGet,
  doInsert,
  doUpdate,
  type IfMatch,
  type IfNoneMatch,
  ifMatchHeader,
  type OpSpec,
} from "./operations.js";
import type { Cond, ListSpec, Op, SortKey } from "./queries.js";

type Command = fc.AsyncCommand<Model, Real>;

/** A command; its label is how a counterexample prints it. */
function command(printed: string, run: (m: Model, r: Real) => Promise<void>): Command {
  return { check: () => true, run, toString: () => printed };
}
const label = (name: string, ...args: unknown[]) => `${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`;

/** "$A"/"$B" in generated bodies stand for the end users' ids, known only once the app is up. */
function resolveBody(r: Real, body: Body): Body {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v === "$A" ? r.uid.A : v === "$B" ? r.uid.B : v]));
}

// ---------------------------------------------------------------- documents

const callerArb: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("sk" as const) },
  { weight: 3, arbitrary: fc.constant("A" as const) },
  { weight: 3, arbitrary: fc.constant("B" as const) },
  { weight: 1, arbitrary: fc.constant("guest" as const) },
);

const titles = fc.constantFrom("a", "b", "B", "ab", "c", "");
const nums = fc.constantFrom(-1, 0, 1, 2, 2.5, 10);
const tags = fc.constantFrom("x", "y", "Z", "");
const slugs = fc.constantFrom("s1", "s2", "s3", "s4", "s5", "s6");
const owners = fc.constantFrom("$A", "$B", "other");

const valid = { title: titles, n: nums, tag: tags, slug: slugs, flag: fc.boolean(), userId: owners };
const invalid = {
  title: fc.constantFrom(5, "waytoolongtitle"),
  n: fc.constantFrom("1", true),
  tag: fc.constant(3),
  slug: fc.constant(false),
  flag: fc.constant("true"),
  userId: fc.constant(7),
};

/** A value for a field: mostly valid, sometimes null (no value), rarely of the wrong type. */
function fieldValue(name: keyof typeof valid) {
  return fc.oneof(
    { weight: 40, arbitrary: valid[name] as fc.Arbitrary<unknown> },
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: invalid[name] as fc.Arbitrary<unknown> },
  );
}

/** Rarely, system fields (ignored) or an unknown field (refused). */
const noise = fc.oneof(
  { weight: 30, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ createdAt: "1999-01-01T00:00:00.000Z" }) },
  { weight: 1, arbitrary: fc.constant({ _id: "000000000000000000000000", updatedAt: "x" }) },
  { weight: 1, arbitrary: fc.constant({ createdBy: "someone" }) },
  { weight: 1, arbitrary: fc.constant({ extra: 1 }) },
);

/** A field present in `percent` of bodies. */
const present = (arb: fc.Arbitrary<unknown>, percent: number) =>
  fc.oneof({ weight: percent, arbitrary: arb }, { weight: 100 - percent, arbitrary: fc.constant(undefined) });

function bodyArb(titlePercent: number, otherPercent: number, ownerPercent: number): fc.Arbitrary<Body> {
  return fc
    .record({
      title: present(fieldValue("title"), titlePercent),
      n: present(fieldValue("n"), otherPercent),
      tag: present(fieldValue("tag"), otherPercent),
      slug: present(fieldValue("slug"), otherPercent),
      flag: present(fieldValue("flag"), otherPercent),
      userId: present(fieldValue("userId"), ownerPercent),
      extra: noise,
    })
    .map(({ extra, ...fields }) => ({
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      ...extra,
    }));
}
const insertBody = bodyArb(97, 50, 15);
const patchBody = bodyArb(30, 35, 10);
const putBody = bodyArb(97, 50, 25);

const ifMatchArb = fc.constantFrom<IfMatch>("none", "none", "current", "weak", "star", "stale", "list");
const ifNoneMatchArb = fc.constantFrom<IfNoneMatch>("none", "none", "current", "stale", "weak", "list", "star");

const insertCmd = fc
  .tuple(callerArb, insertBody)
  .map(([c, b]) => command(label("insert", c, b), (m, r) => doInsert(m, r, c, resolveBody(r, b))));
const bulkCmd = fc.tuple(callerArb, fc.array(insertBody, { minLength: 1, maxLength: 4 })).map(([c, bs]) =>
  command(label("bulk", c, bs), (m, r) =>
    doBulk(
      m,
      r,
      c,
      bs.map((b) => resolveBody(r, b)),
    ),
  ),
);
const getCmd = fc
  .tuple(callerArb, fc.nat(), ifNoneMatchArb)
  .map(([c, pick, inm]) => command(label("get", c, pick, inm), (m, r) => doGet(m, r, c, pick, inm)));
const updateCmd = (kind: "patch" | "put", body: fc.Arbitrary<Body>) =>
  fc
    .tuple(callerArb, fc.nat(), body, ifMatchArb)
    .map(([c, pick, b, ifm]) =>
      command(label(kind, c, pick, b, ifm), (m, r) => doUpdate(m, r, kind, c, pick, resolveBody(r, b), ifm)),
    );
const deleteCmd = fc
  .tuple(callerArb, fc.nat(), ifMatchArb)
  .map(([c, pick, ifm]) => command(label("delete", c, pick, ifm), (m, r) => doDelete(m, r, c, pick, ifm)));

/** A PRNG (xorshift) from a seed, so that a 500-document batch needs no 500-element arbitrary to shrink. */
function bigBatch(seed: number): Body[] {
  let x = seed | 1;
  const below = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const pick = <T>(items: T[]) => items[below(items.length)] as T;
  return Array.from({ length: 500 }, (_, i) => {
    const body: Body = { title: pick(["a", "b", "B", "ab", "c", ""]) };
    if (below(3)) body.n = pick([-1, 0, 1, 2, 2.5, 10]);
    if (below(2)) body.tag = pick(["x", "y", "Z", ""]);
    if (below(2)) body.flag = below(2) === 1;
    if (below(4) === 0) body.slug = `q${seed % 1000}-${i}`;
    if (below(3) === 0) body.userId = pick(["$A", "$B", "other"]);
    return body;
  });
}
/** 500 documents in one bulk, so that query plans over large candidate sets run. */
const bigBulkCmd = fc.integer({ min: 1, max: 1_000_000 }).map((seed) =>
  command(label("bigBulk", seed), (m, r) =>
    doBulk(
      m,
      r,
      "sk",
      bigBatch(seed).map((b) => resolveBody(r, b)),
    ),
  ),
);

// ---------------------------------------------------------------- lists

const strVals = fc.constantFrom("a", "b", "B", "ab", "c", "x", "y", "Z", "", "s1", "s3", "s6");
const cond = (field: fc.Arbitrary<string>, ops: Op[], value: fc.Arbitrary<unknown>): fc.Arbitrary<Cond> =>
  fc.record({ field, op: fc.constantFrom(...ops), value });
const COMPARISONS: Op[] = ["eq", "ne", "gt", "gte", "lt", "lte"];
const condArb: fc.Arbitrary<Cond> = fc.oneof(
  cond(fc.constant("n"), COMPARISONS, nums),
  cond(fc.constant("n"), ["in", "nin"], fc.uniqueArray(nums, { minLength: 1, maxLength: 3 })),
  cond(fc.constantFrom("title", "tag", "slug"), COMPARISONS, strVals),
  cond(fc.constantFrom("title", "tag", "slug"), ["in", "nin"], fc.uniqueArray(strVals, { minLength: 1, maxLength: 3 })),
  cond(fc.constant("flag"), ["eq", "ne"], fc.boolean()),
  cond(fc.constantFrom("n", "tag", "slug", "flag", "userId"), ["exists"], fc.boolean()),
  cond(fc.constantFrom("title", "tag"), ["regex"], fc.constantFrom("a", "^a", "b$", "z")),
  cond(fc.constant("userId"), ["eq", "ne"], fc.constantFrom("$A", "$B")),
);

const START = Date.parse("2026-01-01T00:00:00Z");
/** A date near the run's clock, in one of the notations the API accepts, with its normalized value. */
const dateArb = fc
  .tuple(fc.constantFrom(0, 1, 2, 3, 1000, 1001, 2000, 3000, 5000), fc.constantFrom("iso", "noms", "offset", "day"))
  .map(([ms, style]) => {
    const iso = new Date(START + ms).toISOString();
    if (style === "noms" && ms % 1000 === 0) return { value: iso, raw: iso.replace(".000Z", "Z") };
    if (style === "offset")
      return { value: iso, raw: new Date(START + ms + 3_600_000).toISOString().replace("Z", "+01:00") };
    if (style === "day") return { value: new Date(START).toISOString(), raw: "2026-01-01" };
    return { value: iso, raw: iso };
  });
const dateCond: fc.Arbitrary<Cond> = fc
  .tuple(fc.constantFrom("createdAt", "updatedAt"), fc.constantFrom(...COMPARISONS), dateArb)
  .map(([field, op, d]) => ({ field, op, value: d.value, raw: d.raw }));
/** Conditions on null (sent as JSON): null stands for missing. */
const nullCond: fc.Arbitrary<Cond> = fc.oneof(
  cond(fc.constantFrom("n", "tag", "slug", "flag", "userId"), ["eq", "ne"], fc.constant(null)),
  cond(
    fc.constant("n"),
    ["in", "nin"],
    nums.map((v) => [null, v]),
  ),
);

const sortFields = ["n", "tag", "title", "flag", "slug", "userId", "createdAt", "updatedAt"];
const sortArb: fc.Arbitrary<SortKey[]> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...sortFields), { maxLength: 2 }),
    fc.array(fc.constantFrom<1 | -1>(1, -1), { minLength: 3, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([fields, dirs, withId]) => {
    const keys: SortKey[] = fields.map((f, i) => [f, dirs[i]!]);
    if (withId && keys.length > 0) keys.push(["_id", dirs[2]!]);
    return keys;
  });

const listSpec = (limits: { min: number; max: number }): fc.Arbitrary<ListSpec> =>
  fc.record({
    conds: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: condArb },
        { weight: 1, arbitrary: dateCond },
        { weight: 1, arbitrary: nullCond },
      ),
      { maxLength: 3 },
    ),
    json: fc.boolean(),
    or: fc.option(fc.tuple(condArb, condArb), { nil: undefined, freq: 5 }),
    sort: sortArb,
    sortStyle: fc.constantFrom("minus", "colon", "sortBy"),
    limit: fc.integer(limits),
    fields: fc.option(fc.subarray(["title", "n", "tag", "flag", "userId"], { minLength: 1 }), {
      nil: undefined,
      freq: 4,
    }),
  });

const interleaveArb: fc.Arbitrary<Interleave> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), body: insertBody }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("patch" as const), pick: fc.nat(), body: patchBody }),
);

function resolveInterleaved(r: Real, interleaved: Interleaved): Interleaved {
  return interleaved.map(({ afterPage, op }) => ({
    afterPage,
    op: "body" in op ? { ...op, body: resolveBody(r, op.body) } : op,
  }));
}

function listCmds(spec: fc.Arbitrary<ListSpec>) {
  const interleaved = fc.array(fc.record({ afterPage: fc.nat({ max: 4 }), op: interleaveArb }), { maxLength: 3 });
  return [
    fc
      .tuple(callerArb, spec, interleaved)
      .map(([c, s, x]) => command(label("walk", c, s, x), (m, r) => doWalk(m, r, c, s, resolveInterleaved(r, x)))),
    fc
      .tuple(callerArb, spec, fc.integer({ min: 1, max: 4 }))
      .map(([c, s, page]) => command(label("page", c, s, page), (m, r) => doPage(m, r, c, s, page))),
    fc.tuple(callerArb, spec).map(([c, s]) => command(label("count", c, s), (m, r) => doCount(m, r, c, s))),
  ];
}

// ---------------------------------------------------------------- the collection, the clock, the store

const tickCmd = fc
  .constantFrom(0, 0, 1, 1, 2, 1000)
  .map((ms) => command(label("tick", ms), async (_m, r) => r.clock.advance(ms)));
const fullCheckCmd = fc.constant(command("fullCheck()", doFullCheck));
const reshapeCmd = fc
  .record({
    title: fc.boolean(),
    n: fc.boolean(),
    tag: fc.boolean(),
    flag: fc.boolean(),
    slug: fc.constantFrom<Shape["slug"]>("unique", "index", "none"),
  })
  .map((shape) => command(label("reshape", shape), (m, r) => doReshape(m, r, shape)));
/** Recreating the collection empties it: a quarter as often as other commands (a full check otherwise). */
const recreateOrCheckCmd = fc.oneof(
  { weight: 1, arbitrary: fc.constant(command("recreate()", doRecreate)) },
  { weight: 3, arbitrary: fullCheckCmd },
);
const restartCmd = fc.constant(
  command("restart()", async (m, r) => {
    await restart(r);
    await doFullCheck(m, r);
  }),
);

// ---------------------------------------------------------------- operations sent together

/** An operation of a concurrent group, before its document is chosen (from the model at the time it runs). */
type Pending =
  | { kind: "insert"; caller: Caller; body: Body }
  | { kind: "bulk"; caller: Caller; bodies: Body[] }
  | { kind: "get"; caller: Caller; pick: number }
  | { kind: "patch" | "put"; caller: Caller; pick: number; body: Body; ifm: IfMatch }
  | { kind: "delete"; caller: Caller; pick: number; ifm: IfMatch };

function resolvePending(m: Model, r: Real, p: Pending): OpSpec {
  if (p.kind === "insert") return { ...p, body: resolveBody(r, p.body) };
  if (p.kind === "bulk") return { ...p, bodies: p.bodies.map((b) => resolveBody(r, b)) };
  const id = m.pickId(p.pick);
  if (p.kind === "get") return { kind: "get", caller: p.caller, id, headers: {} };
  const headers = ifMatchHeader(m, id, p.ifm);
  if (p.kind === "delete") return { kind: "delete", caller: p.caller, id, headers };
  return { kind: p.kind, caller: p.caller, id, body: resolveBody(r, p.body), headers };
}

/** In groups `*` is as frequent as no If-Match: it must survive lost races (RFC 9110: any current version). */
const groupIfMatchArb = fc.constantFrom<IfMatch>("none", "none", "star", "star", "current", "weak", "stale", "list");

/** Updates weigh most (lost races and retries); small picks mostly address the same one or two documents. */
const pendingArb: fc.Arbitrary<Pending> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), caller: callerArb, body: insertBody }),
  fc.record({
    kind: fc.constant("bulk" as const),
    caller: callerArb,
    bodies: fc.array(insertBody, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant("get" as const), caller: callerArb, pick: fc.nat() }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom("patch" as const, "put" as const),
      caller: callerArb,
      pick: fc.nat({ max: 7 }),
      body: patchBody,
      ifm: groupIfMatchArb,
    }),
  },
  fc.record({
    kind: fc.constant("delete" as const),
    caller: callerArb,
    pick: fc.nat({ max: 7 }),
    ifm: groupIfMatchArb,
  }),
);

/** A group of operations; half the groups address one document with all of them (lost races, retries). */
const groupArb = (minLength: number) =>
  fc
    .tuple(fc.array(pendingArb, { minLength, maxLength: 4 }), fc.option(fc.nat({ max: 7 }), { nil: undefined }))
    .map(([ops, shared]) =>
      shared === undefined ? ops : ops.map((op) => ("pick" in op ? { ...op, pick: shared } : op)),
    );

const resolveGroup = (m: Model, r: Real, ops: Pending[]) => ops.map((p) => resolvePending(m, r, p));

const concurrentCmd = groupArb(2).map((ops) =>
  command(label("concurrent", ops), (m, r) => doConcurrent(m, r, resolveGroup(m, r, ops))),
);
/** How many event-loop turns after sending the store closes: mostly early, while the writes run. */
const closeTurnsArb = fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 3 }) }, fc.integer({ min: 4, max: 8 }));
const closeMidFlightCmd = fc.tuple(groupArb(1), closeTurnsArb).map(([ops, turns]) =>
  command(label("closeMidFlight", ops, turns), async (m, r) => {
    await doCloseMidFlight(m, r, resolveGroup(m, r, ops), turns);
    await doFullCheck(m, r);
  }),
);

// ---------------------------------------------------------------- the sequences

export interface CommandOptions {
  /** 500-document bulks and pages of 25 to 100. */
  big: boolean;
  /** The store is on disk: restarts, and (with `concurrent`) closes under running requests. */
  onDisk: boolean;
  /** Groups of operations sent together. */
  concurrent: boolean;
}

const times = <T>(n: number, item: T): T[] => Array.from({ length: n }, () => item);

export function commandsArb(options: CommandOptions) {
  const spec = options.big ? listSpec({ min: 25, max: 100 }) : listSpec({ min: 1, max: 6 });
  const list: Array<fc.Arbitrary<Command>> = [
    ...times(3, insertCmd),
    bulkCmd,
    getCmd,
    ...times(2, updateCmd("patch", patchBody)),
    updateCmd("put", putBody),
    deleteCmd,
    ...listCmds(spec),
    tickCmd,
    fullCheckCmd,
    reshapeCmd,
    recreateOrCheckCmd,
  ];
  if (options.onDisk) list.push(restartCmd);
  if (options.big) list.push(bigBulkCmd);
  if (options.concurrent) list.push(...times(6, concurrentCmd));
  if (options.concurrent && options.onDisk) list.push(...times(3, closeMidFlightCmd));
  return fc.commands(list, { maxCommands: 60, size: "+1" });
}
