import fc from "fast-check";
import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { ApiError } from "../shared/errors.js";
import { RESERVED_PARAMS } from "../shared/query/params-filter.js";
import { encodeCursor, type ListQuery, parseListQuery, type QueryContext, type QueryField } from "../shared/query.js";

import { PROTOTYPE_KEYS, SPEC_FILTER_OPERATORS } from "./spec.js";

const RUNS = 300;

const declared = new Map<string, QueryField>([
  ["title", { type: "string", private: false }],
  ["views", { type: "number", private: false }],
  ["rank", { type: "integer", private: false }],
  ["published", { type: "boolean", private: false }],
  ["publishedAt", { type: "date", private: false }],
  ["authorRef", { type: "ref", private: false }],
  ["tags", { type: "array", private: false, itemType: "string" }],
  ["meta", { type: "object", private: false }],
  ["meta.lang", { type: "string", private: false }],
  ["secret", { type: "string", private: true }],
]);

const contexts: QueryContext[] = [
  { fields: declared, isSecretKey: false },
  { fields: declared, isSecretKey: true },
  { fields: null, isSecretKey: false },
  { fields: null, isSecretKey: true },
];

/** Every key is an allowlisted operator or a well-formed path; every value is plain JSON data. */
function assertSafe(value: unknown, at = "filter"): void {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      assertSafe(item, `${at}.${i}`);
    });
    return;
  }
  expect(typeof value, at).toBe("object");
  expect(Object.getPrototypeOf(value), at).toBe(Object.prototype);
  for (const key of Reflect.ownKeys(value as object)) {
    expect(typeof key, at).toBe("string");
    const name = key as string;
    if (name.startsWith("$")) expect(SPEC_FILTER_OPERATORS.has(name), `${at}: ${name}`).toBe(true);
    else {
      for (const segment of name.split(".")) {
        expect(segment.length, `${at}: ${JSON.stringify(name)}`).toBeGreaterThan(0);
        expect(segment.startsWith("$"), `${at}: ${name}`).toBe(false);
        expect(segment.includes("\0"), `${at}: ${name}`).toBe(false);
        expect(PROTOTYPE_KEYS.has(segment), `${at}: ${name}`).toBe(false);
      }
    }
    assertSafe((value as Record<string, unknown>)[name], `${at}.${name}`);
  }
}

/** parseListQuery either throws INVALID_QUERY or returns a query whose every part is safe. */
function check(params: URLSearchParams, ctx: QueryContext): ListQuery | null {
  let query: ListQuery;
  try {
    query = parseListQuery(params, ctx);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    expect(error.code).toBe("INVALID_QUERY");
    return null;
  }
  assertSafe(query.filter);
  assertSafe(query.baseFilter);
  assertSafe(query.sort);
  assertSafe(query.projection ?? {});
  const sortKeys = Object.keys(query.sort);
  expect(sortKeys.at(-1)).toBe("_id");
  expect(sortKeys.length).toBeLessThanOrEqual(6);
  for (const dir of Object.values(query.sort)) expect([1, -1]).toContain(dir);
  expect(Number.isSafeInteger(query.page) && query.page >= 1).toBe(true);
  expect(query.limit >= 1 && query.limit <= 100).toBe(true);
  expect(query.skip).toBe(query.cursor ? 0 : (query.page - 1) * query.limit);
  // The filter must also be usable by a real engine without throwing.
  new Query(query.filter).find([{ _id: "0123456789abcdef01234567", title: "a", views: 1 }]).all();
  return query;
}

const fieldNames = ["title", "views", "rank", "published", "publishedAt", "authorRef", "tags", "meta.lang", "secret"];
const trickyKeys = [
  "__proto__",
  "constructor",
  "prototype",
  "a.__proto__",
  "a.constructor.b",
  "$where",
  "$expr",
  "a.$b",
  "a..b",
  "",
  "x\u0000y",
  "_id",
  "createdAt",
];
const suffixes = ["", "_gt", "_gte", "_lt", "_lte", "_ne", "_in", "_nin", "_exists", "_regex"];
const reserved = [...RESERVED_PARAMS];

const keyArb = fc.oneof(
  fc.constantFrom(...reserved),
  fc.constantFrom(...trickyKeys),
  fc.tuple(fc.constantFrom(...fieldNames, ...trickyKeys), fc.constantFrom(...suffixes)).map(([f, s]) => f + s),
  fc.string({ maxLength: 12 }),
);

const operatorKeys = [
  ...SPEC_FILTER_OPERATORS,
  "$where",
  "$expr",
  "$function",
  "$text",
  "$nor",
  "$type",
  "$lookup",
  "$x",
];
const scalarArb = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.integer({ min: -5, max: 200 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("0123456789abcdef01234567", "2024-01-01", "i", "imsx", "(a+)+", "^a", "[", "a\u0000"),
);
const filterKeyArb = fc.oneof(
  fc.constantFrom(...fieldNames, ...trickyKeys, "meta", "items"),
  fc.constantFrom(...operatorKeys),
  fc.string({ maxLength: 6 }),
);

const { filterArb } = fc.letrec((tie) => ({
  filterArb: fc.dictionary(filterKeyArb, tie("valueArb"), { maxKeys: 3 }),
  valueArb: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarArb,
    fc.array(tie("valueArb"), { maxLength: 3 }),
    tie("filterArb"),
    fc.dictionary(fc.constantFrom(...operatorKeys), tie("valueArb"), { maxKeys: 3 }),
  ),
}));

/** Mostly well-formed filters, so the fuzz also exercises the accepting paths. */
const plainField = fc.constantFrom("title", "views", "tags", "meta.lang", "x", "y.z", "items");
const plainScalar = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -3, max: 9 }),
  fc.boolean(),
  fc.constant(null),
);
const plainList = fc.array(plainScalar, { maxLength: 4 });
const { wellFormedArb } = fc.letrec((tie) => ({
  wellFormedArb: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    fc.dictionary(plainField, tie("conditionArb"), { minKeys: 1, maxKeys: 3 }),
    fc.record({ $or: fc.array(tie("wellFormedArb"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $and: fc.array(tie("wellFormedArb"), { minLength: 1, maxLength: 3 }) }),
  ),
  conditionArb: fc.oneof({ depthSize: "small" }, plainScalar, plainList, tie("operatorsArb")),
  operatorsArb: fc.oneof(
    { depthSize: "small" },
    fc.record(
      {
        $eq: plainScalar,
        $ne: plainScalar,
        $gt: plainScalar,
        $lte: plainScalar,
        $in: plainList,
        $nin: plainList,
        $all: plainList,
        $exists: fc.boolean(),
        $size: fc.nat(5),
        $not: tie("operatorsArb"),
        $elemMatch: tie("wellFormedArb"),
      },
      { requiredKeys: [] },
    ),
    fc.record({ $regex: fc.constantFrom("^a", "b$", "a.c", "(ab)+", "x|y"), $options: fc.constantFrom("i", "", "ms") }),
  ),
}));

const jsonTextArb = fc.oneof(
  { arbitrary: wellFormedArb.map((value) => JSON.stringify(value)), weight: 4 },
  {
    arbitrary: fc.array(wellFormedArb, { minLength: 1, maxLength: 3 }).map((value) => JSON.stringify(value)),
    weight: 1,
  },
  filterArb.map((value) => JSON.stringify(value)),
  fc.array(filterArb, { maxLength: 3 }).map((value) => JSON.stringify(value)),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    '{"__proto__":{"polluted":true}}',
    '{"a":{"__proto__":{"$where":"1"}}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"$or":[{"a":1},{"$where":"1"}]}',
    '{"a":{"$regex":"(x+x+)+y"}}',
    '{"a":1e999}',
    "[]",
    "{",
    "null",
  ),
);

const valueArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom("true", "false", "2024-01-01", "0123456789abcdef01234567", "-createdAt,title", "title:desc", "a,b,c"),
  fc.constantFrom("(a+)+", "^a.*$", "", "null", "101", "0", "-1", "1.5", "desc", "views,title,rank,tags,meta,secret"),
  jsonTextArb,
);

describe("parseListQuery fuzz", () => {
  it("arbitrary query parameters: INVALID_QUERY or a safe query, never another exception", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }),
        fc.constantFrom(...contexts),
        (entries, ctx) => {
          const params = new URLSearchParams();
          for (const [key, value] of entries) params.append(key, value);
          check(params, ctx);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("arbitrary raw query strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom(...contexts), (raw, ctx) => {
        check(new URLSearchParams(raw), ctx);
      }),
      { numRuns: RUNS },
    );
  });

  it("arbitrary JSON in filter, andFilters and orFilters", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.constantFrom("filter", "andFilters", "orFilters"),
        jsonTextArb,
        fc.option(fc.tuple(fc.constantFrom("filter", "andFilters", "orFilters"), jsonTextArb)),
        fc.constantFrom(...contexts),
        (param, text, extra, ctx) => {
          const params = new URLSearchParams();
          params.set(param, text);
          if (extra) params.append(extra[0], extra[1]);
          if (check(params, ctx)) accepted += 1;
        },
      ),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 20);
  });

  it("never pollutes Object.prototype", () => {
    const params = new URLSearchParams();
    params.set("filter", '{"__proto__":{"polluted":true}}');
    expect(() => parseListQuery(params, contexts[1]!)).toThrow(ApiError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("cursor paging property (mingo reference, mixed types)", () => {
  const valueArbForDocs = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer({ min: 0, max: 4 }),
    fc.constantFrom("a", "b", "c", ""),
    fc.constantFrom({ a: 1 }, { a: 2 }, {}),
    fc.boolean(),
  );
  const docsArb = fc
    .array(fc.record({ x: valueArbForDocs, y: valueArbForDocs, z: valueArbForDocs }), { minLength: 0, maxLength: 40 })
    .map((rows) =>
      rows.map((row, i) => {
        const doc: Record<string, unknown> = { _id: (0x100 + ((i * 7) % 41)).toString(16).padStart(24, "0") };
        for (const [key, value] of Object.entries(row)) if (value !== undefined) doc[key] = value;
        return doc;
      }),
    );
  const sortArb = fc
    .uniqueArray(fc.tuple(fc.constantFrom("x", "y", "z"), fc.constantFrom("", "-")), {
      minLength: 1,
      maxLength: 3,
      selector: ([key]) => key,
    })
    .map((items) => items.map(([key, sign]) => sign + key).join(","));

  it("pages through every document exactly once, in order, for any sort, up to an item holding an object", () => {
    fc.assert(
      fc.property(docsArb, sortArb, fc.integer({ min: 1, max: 6 }), (docs, sort, limit) => {
        const ctx: QueryContext = { fields: null, isSecretKey: true };
        const seen: unknown[] = [];
        let cursor: string | null = null;
        let sortSpec: Record<string, 1 | -1> = {};
        let stopped = false;
        for (let round = 0; round <= docs.length + 1; round++) {
          const params = new URLSearchParams({ sort, limit: String(limit) });
          if (cursor !== null) params.set("cursor", cursor);
          const query = parseListQuery(params, ctx);
          sortSpec = query.sort;
          const found = new Query(query.filter)
            .find(docs)
            .sort(query.sort)
            .limit(limit + 1)
            .all() as Array<Record<string, unknown>>;
          const items = found.slice(0, limit);
          seen.push(...items.map((d) => d._id));
          if (found.length <= limit) break;
          cursor = encodeCursor(items.at(-1) as Record<string, unknown>, query.sort);
          if (cursor === null) {
            stopped = true;
            // No cursor continues after an object: the page's last item holds one at a sort key.
            const last = items.at(-1) as Record<string, unknown>;
            expect(Object.keys(query.sort).some((key) => typeof last[key] === "object" && last[key] !== null)).toBe(
              true,
            );
            break;
          }
        }
        const expected = new Query({}).find(docs).sort(sortSpec).all() as Array<Record<string, unknown>>;
        expect(seen).toEqual(expected.slice(0, seen.length).map((d) => d._id));
        if (!stopped) expect(seen).toHaveLength(docs.length);
      }),
      { numRuns: 150 },
    );
  });
});
