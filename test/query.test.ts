import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { ApiError } from "../shared/errors.js";
import {
  cursorFilter,
  encodeCursor,
  escapeRegex,
  type ListQuery,
  parseListQuery,
  type QueryContext,
  type QueryField,
  RESERVED_PARAMS,
  regexProblem,
  vetFilter,
} from "../shared/query.js";

const field = (type: QueryField["type"], extra: Partial<QueryField> = {}): QueryField => ({
  type,
  private: false,
  ...extra,
});

const declared = new Map<string, QueryField>([
  ["title", field("string")],
  ["body", field("string")],
  ["email", field("email")],
  ["site", field("url")],
  ["views", field("number")],
  ["rank", field("integer")],
  ["published", field("boolean")],
  ["publishedAt", field("date")],
  ["authorRef", field("ref")],
  ["tags", field("array", { itemType: "string" })],
  ["scores", field("array", { itemType: "number" })],
  ["meta", field("object")],
  ["meta.lang", field("string")],
  ["meta.views", field("number")],
  ["secret", field("string", { private: true })],
  ["profile", field("object")],
  ["profile.name", field("string")],
  ["profile.ssn", field("string", { private: true })],
  ["vault", field("object", { private: true })],
  ["vault.code", field("string", { private: true })],
  ["status_in", field("string")],
  ["data", field("any")],
]);

const pk: QueryContext = { fields: declared, isSecretKey: false };
const sk: QueryContext = { fields: declared, isSecretKey: true };
const loose: QueryContext = { fields: null, isSecretKey: false };

const ID = "0123456789abcdef01234567";
const ID2 = "fedcba9876543210fedcba98";

function parse(qs: string | URLSearchParams, ctx: QueryContext = pk): ListQuery {
  return parseListQuery(typeof qs === "string" ? new URLSearchParams(qs) : qs, ctx);
}

function failure(qs: string | URLSearchParams, ctx: QueryContext = pk): ApiError {
  try {
    parse(qs, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.code).toBe("INVALID_QUERY");
    expect(apiError.status).toBe(400);
    expect(apiError.details?.[0]?.path).toBeTypeOf("string");
    return apiError;
  }
  throw new Error(`expected INVALID_QUERY for ${String(qs)}`);
}

const json = (name: string, value: unknown) => `${name}=${encodeURIComponent(JSON.stringify(value))}`;

describe("parseListQuery defaults and reserved params", () => {
  it("returns the defaults for an empty query", () => {
    expect(parse("")).toEqual({
      filter: {},
      baseFilter: {},
      sort: { createdAt: -1, _id: -1 },
      page: 1,
      limit: 20,
      skip: 0,
      projection: undefined,
      count: false,
      cursor: false,
      cursorable: true,
    });
  });

  const reservedValues: Record<string, string> = {
    page: "2",
    limit: "5",
    sort: "title",
    sortBy: "",
    sortDirection: "",
    cursor: "",
    filter: "{}",
    andFilters: "{}",
    orFilters: "",
    search: "",
    searchFields: "",
    fields: "title",
    select: "body",
    count: "true",
    key: "pk_live_abc",
    populate: "authorRef",
    expand: "authorRef",
  };

  it.each(Object.entries(reservedValues))("%s is never a filter", (name, value) => {
    const params = new URLSearchParams();
    params.set(name, value);
    expect(parse(params).filter).toEqual({});
  });

  it("lists every reserved name of the contract", () => {
    expect([...RESERVED_PARAMS].sort()).toEqual(Object.keys(reservedValues).sort());
  });
});

describe("query-string filters, declared types", () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["string equality", "title=Hello", { title: "Hello" }],
    ["numeric-looking string stays a string", "title=5", { title: "5" }],
    ["email as-is", "email=A@B.test", { email: "A@B.test" }],
    ["url as-is", "site=https://x.test/a?b", { site: "https://x.test/a?b" }],
    ["number", "views=5", { views: 5 }],
    ["negative decimal", "views=-1.5", { views: -1.5 }],
    ["exponent", "views=2e3", { views: 2000 }],
    ["integer", "rank=3", { rank: 3 }],
    ["boolean true", "published=true", { published: true }],
    ["boolean false", "published=false", { published: false }],
    ["date normalized", "publishedAt=2024-01-02", { publishedAt: "2024-01-02T00:00:00.000Z" }],
    ["date-time with offset", "publishedAt=2024-01-02T10:00:00%2B02:00", { publishedAt: "2024-01-02T08:00:00.000Z" }],
    [
      "offset whose + became a space",
      "publishedAt=2024-01-02T10:00:00+02:00",
      { publishedAt: "2024-01-02T08:00:00.000Z" },
    ],
    ["date-time without offset is UTC", "publishedAt=2024-01-02T10:00", { publishedAt: "2024-01-02T10:00:00.000Z" }],
    ["fractional seconds", "publishedAt=2024-01-02T10:00:00.123456Z", { publishedAt: "2024-01-02T10:00:00.123Z" }],
    ["ref", `authorRef=${ID}`, { authorRef: ID }],
    ["ref upper-case is lower-cased", `authorRef=${ID.toUpperCase()}`, { authorRef: ID }],
    ["_id", `_id=${ID}`, { _id: ID }],
    ["createdAt is a date", "createdAt_gte=2024-05-01", { createdAt: { $gte: "2024-05-01T00:00:00.000Z" } }],
    ["updatedAt is a date", "updatedAt_lt=2024-05-01T00:00:00Z", { updatedAt: { $lt: "2024-05-01T00:00:00.000Z" } }],
    ["createdBy is a string", "createdBy=u1", { createdBy: "u1" }],
    ["array of strings compares elements", "tags=red", { tags: "red" }],
    ["array of numbers coerces by item type", "scores_gt=3", { scores: { $gt: 3 } }],
    ["dotted path", "meta.lang=en", { "meta.lang": "en" }],
    ["dotted typed path", "meta.views_gte=10", { "meta.views": { $gte: 10 } }],
    ["array position path", "scores.0=7", { "scores.0": 7 }],
    ["_gt", "views_gt=1", { views: { $gt: 1 } }],
    ["_gte", "views_gte=1", { views: { $gte: 1 } }],
    ["_lt", "views_lt=1", { views: { $lt: 1 } }],
    ["_lte", "views_lte=1", { views: { $lte: 1 } }],
    ["_ne", "views_ne=1", { views: { $ne: 1 } }],
    ["_in", "views_in=1,2,3", { views: { $in: [1, 2, 3] } }],
    ["_in deduplicates", "title_in=a,b,a", { title: { $in: ["a", "b"] } }],
    ["_nin", "title_nin=a,b", { title: { $nin: ["a", "b"] } }],
    ["_exists true", "title_exists=true", { title: { $exists: true } }],
    ["_exists false", "title_exists=false", { title: { $exists: false } }],
    ["_regex is case-insensitive", "title_regex=^hel", { title: { $regex: "^hel", $options: "i" } }],
    ["a declared field named like a suffix is equality", "status_in=a,b", { status_in: "a,b" }],
    ["undeclared field with declared schema is allowed", "extra=x", { extra: "x" }],
    ["any-typed field uses the heuristic", "data=5", { data: { $in: ["5", 5] } }],
    ["range ops on one field merge", "views_gt=1&views_lt=9", { views: { $gt: 1, $lt: 9 } }],
    ["repeated equality ANDs", "tags=a&tags=b", { $and: [{ tags: "a" }, { tags: "b" }] }],
    ["repeated range ANDs", "views_gt=1&views_gt=2", { $and: [{ views: { $gt: 1 } }, { views: { $gt: 2 } }] }],
    ["several fields merge into one object", "title=a&views=2", { title: "a", views: 2 }],
  ];

  it.each(cases)("%s", (_name, qs, filter) => {
    expect(parse(qs, sk).filter).toEqual(filter);
  });

  const invalid: Array<[string, string, string]> = [
    ["number not numeric", "views=abc", "views"],
    ["number hex", "views=0x10", "views"],
    ["number Infinity", "views_gt=Infinity", "views_gt"],
    ["number empty", "views=", "views"],
    ["integer not integral", "rank=1.5", "rank"],
    ["boolean yes", "published=yes", "published"],
    ["boolean 1", "published=1", "published"],
    ["date garbage", "publishedAt=yesterday", "publishedAt"],
    ["date Feb 30", "publishedAt=2024-02-30", "publishedAt"],
    ["date month 13", "publishedAt=2024-13-01", "publishedAt"],
    ["date hour 24", "publishedAt=2024-01-01T24:00:00Z", "publishedAt"],
    ["ref short", "authorRef=abc", "authorRef"],
    ["_id not hex", "_id=zzzzzzzzzzzzzzzzzzzzzzzz", "_id"],
    ["_id in list", `_id_in=${ID},nope`, "_id_in"],
    ["createdAt garbage", "createdAt_gt=soon", "createdAt_gt"],
    ["_in over 100 values", `title_in=${Array.from({ length: 101 }, (_, i) => i).join(",")}`, "title_in"],
    ["_in item uncoercible", "views_in=1,x", "views_in"],
    ["_exists maybe", "title_exists=maybe", "title_exists"],
    ["_regex too long", `title_regex=${"a".repeat(129)}`, "title_regex"],
    ["_regex does not compile", "title_regex=(", "title_regex"],
    ["_regex nested quantifier", `title_regex=${encodeURIComponent("(a+)+$")}`, "title_regex"],
    ["__proto__ field", "__proto__=1", "__proto__"],
    ["constructor segment", "a.constructor=1", "a.constructor"],
    ["prototype segment", "a.prototype.b_gt=1", "a.prototype.b_gt"],
    ["leading $", "$where=1", "$where"],
    ["$ segment", "a.$b=1", "a.$b"],
    ["empty segment", "a..b=1", "a..b"],
    ["NUL", "a%00b=1", "a\u0000b"],
    ["empty key", "=1", ""],
  ];

  it.each(invalid)("%s → 400 naming the param", (_name, qs, param) => {
    const error = failure(qs, sk);
    expect(error.details?.[0]?.path).toBe(param);
    expect(error.message).toContain(param);
  });

  it("accepts a 100-value _in list", () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    expect(parse(`views_in=${values.join(",")}`).filter).toEqual({ views: { $in: values } });
  });

  it("accepts a 128-character regex", () => {
    expect(parse(`title_regex=${"a".repeat(128)}`).filter).toEqual({
      title: { $regex: "a".repeat(128), $options: "i" },
    });
  });
});

describe("query-string filters, schemaless heuristic", () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["plain string", "name=bob", { name: "bob" }],
    ["numeric equality matches string and number", "n=5", { n: { $in: ["5", 5] } }],
    ["boolean equality matches string and boolean", "ok=true", { ok: { $in: ["true", true] } }],
    ["leading zeros stay a string", "zip=007", { zip: "007" }],
    // Edgeback's own suffixes (not urBackend's) may also end a field's name: either reading matches.
    ["_ne with candidates", "n_ne=5", { $or: [{ n_ne: { $in: ["5", 5] } }, { n: { $nin: ["5", 5] } }] }],
    ["_ne plain", "n_ne=x", { $or: [{ n_ne: "x" }, { n: { $ne: "x" } }] }],
    ["range numeric", "n_gt=5", { n: { $gt: 5 } }],
    ["range string", "d_gte=2024-01-01", { d: { $gte: "2024-01-01" } }],
    [
      "_in candidates",
      "n_in=1,a,false",
      { $or: [{ n_in: "1,a,false" }, { n: { $in: ["1", 1, "a", "false", false] } }] },
    ],
    ["_nin candidates", "n_nin=1", { $or: [{ n_nin: { $in: ["1", 1] } }, { n: { $nin: ["1", 1] } }] }],
    ["_id still checked", `_id=${ID}`, { _id: ID }],
    // A system field's suffix is only the operator, so its index serves the filter alone.
    ["_id_in only the operator", `_id_in=${ID}`, { _id: { $in: [ID] } }],
    ["createdAt_exists only the operator", "createdAt_exists=true", { createdAt: { $exists: true } }],
    ["createdAt still a date", "createdAt_lt=2024-01-01", { createdAt: { $lt: "2024-01-01T00:00:00.000Z" } }],
    ["suffix split", "price_in_in=1", { $or: [{ price_in_in: { $in: ["1", 1] } }, { price_in: { $in: ["1", 1] } }] }],
    ["urBackend's suffixes are only operators", "n_gte=1", { n: { $gte: 1 } }],
  ];
  it.each(cases)("%s", (_name, qs, filter) => {
    expect(parse(qs, loose).filter).toEqual(filter);
  });

  it("still refuses a bad _id", () => {
    failure("_id=5", loose);
  });
});

describe("private fields", () => {
  const refusedForPk: Array<[string, string]> = [
    ["filter on a private field", "secret=x"],
    ["suffix filter on a private field", "secret_exists=true"],
    ["filter on a private nested field", "profile.ssn=1"],
    ["filter under a private object", "vault.code=1"],
    ["filter on an object holding a private field", "profile_ne=x"],
    [
      "$elemMatch operators on an array holding a private field",
      json("filter", { profile: { $elemMatch: { $eq: 1 } } }),
    ],
    ["$exists on a private field", json("filter", { secret: { $exists: true } })],
    ["JSON filter on a private field", json("filter", { secret: "x" })],
    ["JSON filter on a private field inside $or", json("filter", { $or: [{ title: "a" }, { secret: "x" }] })],
    ["JSON literal on an object holding a private field", json("filter", { profile: { ssn: "1" } })],
    ["andFilters on a private field", json("andFilters", [{ secret: "x" }])],
    ["orFilters on a private field", json("orFilters", { secret: "x" })],
    ["sort on a private field", "sort=secret"],
    ["sortBy on a private field", "sortBy=profile.ssn"],
    ["sort on an object holding a private field", "sort=profile"],
    ["select a private field", "fields=secret"],
    ["select alias on a private nested field", "select=vault.code"],
    ["search a private field", "search=x&searchFields=secret"],
  ];
  it.each(refusedForPk)("pk: %s → 400; sk: allowed", (_name, qs) => {
    expect(failure(qs, pk).message).toMatch(/private/);
    expect(() => parse(qs, sk)).not.toThrow();
  });

  it("pk may select an object holding a private field (output stripping hides it)", () => {
    expect(parse("fields=profile", pk).projection).toEqual({ _id: 1, profile: 1, createdAt: 1 });
  });

  it.each([
    ["_exists", "profile_exists=true", { profile: { $exists: true } }],
    ["$size", json("filter", { profile: { $size: 1 } }), { profile: { $size: 1 } }],
    [
      "$not $exists",
      json("filter", { profile: { $not: { $exists: true } } }),
      { profile: { $not: { $exists: true } } },
    ],
  ])("pk may test the shape (%s) of an object holding a private field", (_name, qs, filter) => {
    expect(parse(qs, pk).filter).toEqual(filter);
  });

  describe("numeric path segments", () => {
    /** As definitions stored before digit-named fields were refused may declare them. */
    const legacy: QueryContext = {
      isSecretKey: false,
      fields: new Map<string, QueryField>([
        ["title", field("string")],
        ["1234", field("string", { private: true })],
        ["items", field("array", { itemType: "object" })],
        ["items.price", field("number")],
        ["items.0", field("string", { private: true })],
      ]),
    };

    it.each([
      ["1234=x"],
      ["1234_regex=^a"],
      [json("filter", { 1234: { $regex: "^a" } })],
      ["fields=1234"],
      ["search=a&searchFields=1234"],
      ["items.0=x"],
      ["items.0.price=1"],
    ])("pk: %s names a declared digit field that is private → 400", (qs) => {
      expect(failure(qs, legacy).message).toMatch(/private/);
      expect(() => parse(qs, { ...legacy, isSecretKey: true })).not.toThrow();
    });

    it("pk: sort on a declared digit field that is private → 400 naming it private", () => {
      expect(failure("sort=1234", legacy).message).toMatch(/private/);
    });

    it("an undeclared numeric segment is an array position: type lookup and access go by the field", () => {
      expect(parse("scores.0_gt=5", pk).filter).toEqual({ "scores.0": { $gt: 5 } });
      expect(parse("meta.2.views=3", pk).filter).toEqual({ "meta.2.views": 3 });
      expect(failure("profile.0.ssn=1", pk).message).toMatch(/private/);
      expect(parse("search=a", legacy).filter).toEqual({ title: { $regex: "a", $options: "i" } });
    });
  });

  it("pk may filter the public siblings of a private field", () => {
    expect(parse("profile.name=Ann", pk).filter).toEqual({ "profile.name": "Ann" });
  });

  it("$elemMatch paths are checked relative to the array", () => {
    const ctx: QueryContext = {
      fields: new Map([
        ["items", field("array")],
        ["items.cost", field("number", { private: true })],
      ]),
      isSecretKey: false,
    };
    failure(json("filter", { items: { $elemMatch: { cost: { $gt: 1 } } } }), ctx);
    expect(parse(json("filter", { items: { $elemMatch: { name: "a" } } }), ctx).filter).toEqual({
      items: { $elemMatch: { name: "a" } },
    });
  });
});

describe("JSON filters", () => {
  const accepted: Array<[string, string, Record<string, unknown>]> = [
    ["$eq", json("filter", { title: { $eq: "a" } }), { title: { $eq: "a" } }],
    ["literal equality", json("filter", { title: "a", views: 3 }), { title: "a", views: 3 }],
    ["literal object", json("filter", { meta: { lang: "en" } }), { meta: { lang: "en" } }],
    ["comparisons", json("filter", { views: { $gt: 1, $lte: 5 } }), { views: { $gt: 1, $lte: 5 } }],
    ["$ne null", json("filter", { title: { $ne: null } }), { title: { $ne: null } }],
    ["$in / $nin", json("filter", { views: { $in: [1, 2], $nin: [3] } }), { views: { $in: [1, 2], $nin: [3] } }],
    ["$exists", json("filter", { title: { $exists: false } }), { title: { $exists: false } }],
    [
      "$regex + $options",
      json("filter", { title: { $regex: "^a", $options: "ims" } }),
      { title: { $regex: "^a", $options: "ims" } },
    ],
    [
      "$options x: applied here, whitespace and comments removed",
      json("filter", { title: { $regex: "^a b # letters\n[ ]c", $options: "xi" } }),
      { title: { $regex: "^ab[ ]c", $options: "i" } },
    ],
    ["$not", json("filter", { title: { $not: { $regex: "^a" } } }), { title: { $not: { $regex: "^a" } } }],
    [
      "$all / $size",
      json("filter", { tags: { $all: ["a", "b"], $size: 2 } }),
      { tags: { $all: ["a", "b"], $size: 2 } },
    ],
    [
      "$elemMatch operators",
      json("filter", { scores: { $elemMatch: { $gt: 1, $lt: 5 } } }),
      { scores: { $elemMatch: { $gt: 1, $lt: 5 } } },
    ],
    [
      "$elemMatch document",
      json("filter", { items: { $elemMatch: { name: "a", $or: [{ n: 1 }, { n: 2 }] } } }),
      { items: { $elemMatch: { name: "a", $or: [{ n: 1 }, { n: 2 }] } } },
    ],
    [
      "$and / $or",
      json("filter", { $and: [{ $or: [{ a: 1 }, { b: 2 }] }] }),
      { $and: [{ $or: [{ a: 1 }, { b: 2 }] }] },
    ],
    ["_id $in", json("filter", { _id: { $in: [ID, ID2.toUpperCase()] } }), { _id: { $in: [ID, ID2] } }],
    [
      "date normalized",
      json("filter", { publishedAt: { $gte: "2024-01-01" } }),
      { publishedAt: { $gte: "2024-01-01T00:00:00.000Z" } },
    ],
    ["dotted path", json("filter", { "meta.lang": "en" }), { "meta.lang": "en" }],
    ["andFilters object", json("andFilters", { title: "a" }), { title: "a" }],
    ["andFilters array", json("andFilters", [{ title: "a" }, { views: 2 }]), { title: "a", views: 2 }],
    ["orFilters array", json("orFilters", [{ title: "a" }, { views: 2 }]), { $or: [{ title: "a" }, { views: 2 }] }],
    ["orFilters object", json("orFilters", { title: "a", views: 2 }), { $or: [{ title: "a" }, { views: 2 }] }],
    [
      "filter + andFilters + orFilters + query params AND together",
      [
        "title=x",
        json("filter", { views: { $gt: 1 } }),
        json("andFilters", [{ views: { $lt: 9 } }]),
        json("orFilters", [{ a: 1 }, { b: 1 }]),
      ].join("&"),
      { title: "x", views: { $gt: 1, $lt: 9 }, $or: [{ a: 1 }, { b: 1 }] },
    ],
    ["empty filter", "filter=%7B%7D", {}],
    ["blank filter param is ignored", "filter=%20", {}],
    [
      "depth 6",
      json("filter", { $or: [{ $and: [{ a: { $elemMatch: { b: { $in: [1] } } } }] }] }),
      { $or: [{ $and: [{ a: { $elemMatch: { b: { $in: [1] } } } }] }] },
    ],
  ];
  it.each(accepted)("%s", (_name, qs, filter) => {
    expect(parse(qs, sk).filter).toEqual(filter);
  });

  const deep = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = { x: value };
    return value;
  };

  const refused: Array<[string, string, RegExp]> = [
    ["$where", json("filter", { $where: "sleep(1000)" }), /\$where/],
    ["$expr", json("filter", { $expr: { $eq: ["$a", "$b"] } }), /\$expr/],
    ["$function", json("filter", { a: { $function: {} } }), /\$function/],
    ["$text", json("filter", { $text: { $search: "x" } }), /\$text/],
    ["$lookup", json("filter", { $lookup: {} }), /\$lookup/],
    ["$nor", json("filter", { $nor: [{ a: 1 }] }), /\$nor/],
    ["unknown $x", json("filter", { a: { $x: 1 } }), /\$x/],
    ["$type", json("filter", { a: { $type: "string" } }), /\$type/],
    ["$not at the top", json("filter", { $not: { a: 1 } }), /\$not/],
    ["$and inside a field", json("filter", { a: { $and: [{ $gt: 1 }] } }), /\$and/],
    // An operator inside a literal value is refused as such (MongoDB would read it, or fail with a 500).
    [
      "operator smuggled in a literal",
      json("filter", { a: { b: { $where: "x" } } }),
      /\$where is not allowed inside a value/,
    ],
    ["operator smuggled in $eq", json("filter", { a: { $eq: { $gt: 1 } } }), /\$gt is not allowed inside a value/],
    [
      "operator smuggled in $eq, $where",
      json("filter", { a: { $eq: { $where: "sleep(100)" } } }),
      /\$where is not allowed inside a value/,
    ],
    [
      "operator smuggled in $in",
      json("filter", { a: { $in: [{ $where: "1" }] } }),
      /\$where is not allowed inside a value/,
    ],
    [
      "operator smuggled in $ne, nested",
      json("filter", { a: { $ne: { b: { $expr: 1 } } } }),
      /\$expr is not allowed inside a value/,
    ],
    ["mixed operators and fields", json("filter", { a: { $gt: 1, b: 2 } }), /mixed/],
    ["$options alone", json("filter", { a: { $options: "i" } }), /\$options/],
    ["$options bad flag", json("filter", { a: { $regex: "x", $options: "g" } }), /flags/],
    ["$options repeated flag", json("filter", { a: { $regex: "x", $options: "ii" } }), /repeats/],
    ["$regex not a string", json("filter", { a: { $regex: 5 } }), /\$regex/],
    ["$regex too long", json("filter", { a: { $regex: "a".repeat(129) } }), /longer/],
    ["$regex invalid", json("filter", { a: { $regex: "[" } }), /invalid regular expression/],
    ["$regex (a+)+", json("filter", { a: { $regex: "(a+)+" } }), /nested quantifiers/],
    ["$regex (a*)*", json("filter", { a: { $regex: "(a*)*" } }), /nested quantifiers/],
    ["$regex (a|a)*", json("filter", { a: { $regex: "(a|a)*" } }), /nested quantifiers/],
    ["$regex in $not", json("filter", { a: { $not: { $regex: "(x+)+y" } } }), /nested quantifiers/],
    ["$regex x-mode hides the nesting", json("filter", { a: { $regex: "(a+) +", $options: "x" } }), /nested/],
    ["$regex NUL", json("filter", { a: { $regex: "a\u0000" } }), /NUL/],
    ["$in over 100", json("filter", { a: { $in: Array.from({ length: 101 }, (_, i) => i) } }), /100/],
    ["$nin over 100", json("filter", { a: { $nin: Array.from({ length: 101 }, (_, i) => i) } }), /100/],
    ["$all over 100", json("filter", { a: { $all: Array.from({ length: 101 }, (_, i) => i) } }), /100/],
    ["$in not an array", json("filter", { a: { $in: 1 } }), /array/],
    ["$gt with an object", json("filter", { a: { $gt: { b: 1 } } }), /\$gt/],
    ["$exists not boolean", json("filter", { a: { $exists: 1 } }), /\$exists/],
    ["$size negative", json("filter", { a: { $size: -1 } }), /\$size/],
    ["$size fraction", json("filter", { a: { $size: 1.5 } }), /\$size/],
    ["$not with a literal", json("filter", { a: { $not: 1 } }), /\$not/],
    ["$elemMatch with a literal", json("filter", { a: { $elemMatch: 1 } }), /\$elemMatch/],
    ["empty $and", json("filter", { $and: [] }), /non-empty/],
    ["$or of non-objects", json("filter", { $or: [1] }), /object/],
    ["depth 7", json("filter", deep(7)), /deeper/],
    ["deep arrays", json("filter", { a: [[[[[[[1]]]]]]] }), /deeper/],
    [
      "deep logical nesting",
      json("filter", { $or: [{ $or: [{ $or: [{ $or: [{ $or: [{ $or: [{ $or: [{ a: 1 }] }] }] }] }] }] }] }),
      /deeper/,
    ],
    ["over 8 KiB", `filter=${encodeURIComponent(JSON.stringify({ a: "x".repeat(8200) }))}`, /8192/],
    [
      "8 KiB across params",
      `${json("filter", { a: "x".repeat(4100) })}&${json("andFilters", { b: "x".repeat(4100) })}`,
      /8192/,
    ],
    ["malformed JSON", "filter=%7Ba%3A1", /malformed JSON/],
    ["filter is an array", json("filter", [{ a: 1 }]), /object/],
    ["filter is a string", json("filter", "a"), /object/],
    ["__proto__ key", `filter=${encodeURIComponent('{"__proto__":{"polluted":1}}')}`, /__proto__/],
    ["__proto__ in a literal", `filter=${encodeURIComponent('{"a":{"__proto__":{"x":1}}}')}`, /__proto__/],
    ["constructor path segment", json("filter", { "a.constructor.prototype": 1 }), /constructor/],
    ["prototype key in a literal", json("filter", { a: { prototype: 1 } }), /prototype/],
    ["NUL in a field name", json("filter", { "a\u0000b": 1 }), /NUL/],
    ["leading $ in a path segment", json("filter", { "a.$b": 1 }), /\$/],
    ["_id not hex", json("filter", { _id: "abc" }), /_id/],
    ["_id a number", json("filter", { _id: 5 }), /_id/],
    ["_id in $in", json("filter", { _id: { $in: [ID, "x"] } }), /_id/],
    ["ref not hex", json("filter", { authorRef: { $ne: "x" } }), /authorRef/],
    ["date not a date", json("filter", { createdAt: { $gt: "soon" } }), /createdAt/],
    ["empty andFilters array", json("andFilters", []), /non-empty/],
    ["empty orFilters array", json("orFilters", []), /non-empty/],
    ["empty orFilters object", json("orFilters", {}), /at least one/],
    ["orFilters with $where", json("orFilters", [{ $where: "1" }]), /\$where/],
    ["andFilters with $expr", json("andFilters", [{ a: 1 }, { $expr: {} }]), /\$expr/],
    ["21 filter parameters", Array.from({ length: 21 }, (_, i) => `title_regex=x${i}`).join("&"), /at most 20/],
  ];
  it.each(refused)("%s → 400", (_name, qs, message) => {
    const error = failure(qs, sk);
    expect(error.message).toMatch(message);
  });

  it("takes up to 20 filter parameters", () => {
    const qs = Array.from({ length: 20 }, (_, i) => `title_regex=x${i}`).join("&");
    expect(() => parse(`${qs}&limit=5&sort=title`, sk)).not.toThrow();
  });
});

describe("vetFilter (already-parsed filters, e.g. an aggregate $match)", () => {
  it("returns a vetted copy", () => {
    const input = { $or: [{ views: { $gte: 2 } }, { title: "a" }] };
    const output = vetFilter(input, sk);
    expect(output).toEqual(input);
    expect(output).not.toBe(input);
  });

  it.each([
    ["$where", { $where: "1" }, sk],
    ["private field for pk", { secret: "x" }, pk],
    ["not an object", [1], sk],
    ["a Date instance", { a: new Date(0) }, sk],
    ["a class instance", new (class Filter {})(), sk],
    ["over 8 KiB", { a: "x".repeat(9000) }, sk],
  ] as const)("refuses %s", (_name, filter, ctx) => {
    expect(() => vetFilter(filter, ctx)).toThrow(ApiError);
  });
});

describe("regex safety", () => {
  const safe = [
    "^abc$",
    "a+b*c?",
    "(ab)+",
    "(a?b)*",
    "(a{3})+",
    "^(red|green)$",
    "[a-z]+\\d*",
    "(?:x)?y",
    "\\(a+\\)+",
    "[(a+)+]",
  ];
  const unsafe = [
    "(a+)+",
    "(a*)*",
    "(a|a)*",
    "((ab)+c)*",
    "(\\w+\\s?)+$",
    "(a+){2,}",
    "(?:a|b)+",
    "(x+x+)+y",
    "(a{1,5})*",
  ];
  it.each(safe)("%s is accepted", (pattern) => expect(regexProblem(pattern)).toBeNull());
  it.each(unsafe)("%s is refused", (pattern) => expect(regexProblem(pattern)).toMatch(/nested/));

  it("refuses counted repetitions over 100 (their matching cost grows with the count)", () => {
    for (const pattern of [".{101}", "a{0,101}", "[^a]{999}", "(ab){200}", "x{5,1000}"]) {
      expect(regexProblem(pattern), pattern).toMatch(/more than 100 times/);
    }
    for (const pattern of [".{100}", "a{0,100}", "x{3,}", "\\{1000}", "[{1000}]"]) {
      expect(regexProblem(pattern), pattern).toBeNull();
    }
  });

  it("reads x-mode patterns as PCRE does", () => {
    expect(regexProblem("(a+) +")).toBeNull();
    expect(regexProblem("(a+) +", "x")).toMatch(/nested/);
    expect(regexProblem("(a+)# comment\n+", "x")).toMatch(/nested/);
  });

  it("escapes every metacharacter", () => {
    const term = "a.b*(+?^$|)[]{}\\";
    expect(new RegExp(escapeRegex(term)).test(`x${term}y`)).toBe(true);
    expect(new RegExp(escapeRegex("a.b")).test("axb")).toBe(false);
  });
});

describe("search", () => {
  it("escapes regex metacharacters: a.b*( is literal", () => {
    const { filter } = parse("search=a.b*(&searchFields=title", sk);
    expect(filter).toEqual({ title: { $regex: "a\\.b\\*\\(", $options: "i" } });
    const docs = [
      { _id: "1", title: "xA.B*(y" },
      { _id: "2", title: "aXbbb(" },
      { _id: "3", title: "a.b" },
    ];
    const found = new Query(filter).find(docs).all() as typeof docs;
    expect(found.map((d) => d._id)).toEqual(["1"]);
  });

  it("defaults to the declared string/email/url fields the caller may read", () => {
    const expected = ["title", "body", "email", "site", "meta.lang", "profile.name", "status_in"];
    const pkFields = (parse("search=x", pk).filter.$or as Array<Record<string, unknown>>).map((c) => Object.keys(c)[0]);
    expect(pkFields).toEqual(expected);
    const skFields = (parse("search=x", sk).filter.$or as Array<Record<string, unknown>>).map((c) => Object.keys(c)[0]);
    expect(skFields).toEqual([
      "title",
      "body",
      "email",
      "site",
      "meta.lang",
      "secret",
      "profile.name",
      "profile.ssn",
      "vault.code",
      "status_in",
    ]);
  });

  it("ANDs with the other filters", () => {
    expect(parse("search=hi&searchFields=title,body&views=2", pk).filter).toEqual({
      views: 2,
      $or: [{ title: { $regex: "hi", $options: "i" } }, { body: { $regex: "hi", $options: "i" } }],
    });
  });

  it("trims the term and ignores an empty one", () => {
    expect(parse("search=%20%20", pk).filter).toEqual({});
    expect(parse("search=%20hi%20&searchFields=title", pk).filter).toEqual({ title: { $regex: "hi", $options: "i" } });
  });

  it("works on a schemaless collection with searchFields", () => {
    expect(parse("search=x&searchFields=name", loose).filter).toEqual({ name: { $regex: "x", $options: "i" } });
  });

  const refused: Array<[string, string, QueryContext]> = [
    ["schemaless without searchFields", "search=x", loose],
    ["term over 128 characters", `search=${"a".repeat(129)}&searchFields=title`, pk],
    ["NUL in the term", "search=a%00&searchFields=title", pk],
    ["bad searchFields path", "search=a&searchFields=__proto__", pk],
    ["no string fields", "search=a", { fields: new Map([["n", field("number")]]), isSecretKey: true }],
  ];
  it.each(refused)("%s → 400", (_name, qs, ctx) => {
    failure(qs, ctx);
  });
});

describe("sort", () => {
  const cases: Array<[string, string, Record<string, 1 | -1>]> = [
    ["default", "", { createdAt: -1, _id: -1 }],
    ["-createdAt,title", "sort=-createdAt,title", { createdAt: -1, title: 1, _id: 1 }],
    ["title,-views (tie-break follows the last key)", "sort=title,-views", { title: 1, views: -1, _id: -1 }],
    ["field:desc", "sort=title:desc", { title: -1, _id: -1 }],
    ["field:asc,field:DESC", "sort=title:asc,views:DESC", { title: 1, views: -1, _id: -1 }],
    ["field:-1", "sort=views:-1", { views: -1, _id: -1 }],
    ["+field (URL-decoded to a space)", "sort=+title", { title: 1, _id: 1 }],
    ["%2Bfield", "sort=%2Btitle", { title: 1, _id: 1 }],
    ["spaces and empty items", "sort=%20title%20,,", { title: 1, _id: 1 }],
    ["repeated sort params concatenate", "sort=title&sort=-views", { title: 1, views: -1, _id: -1 }],
    ["sortBy alone is ascending", "sortBy=views", { views: 1, _id: 1 }],
    ["sortBy + desc", "sortBy=views&sortDirection=desc", { views: -1, _id: -1 }],
    ["sortBy + asc", "sortBy=views&sortDirection=asc", { views: 1, _id: 1 }],
    ["sortBy + -1", "sortBy=views&sortDirection=-1", { views: -1, _id: -1 }],
    ["sortBy + 1", "sortBy=views&sortDirection=1", { views: 1, _id: 1 }],
    ["explicit _id last", "sort=title,-_id", { title: 1, _id: -1 }],
    ["only _id", "sort=_id", { _id: 1 }],
    ["system fields", "sort=updatedAt,createdBy", { updatedAt: 1, createdBy: 1, _id: 1 }],
    ["dotted declared", "sort=meta.lang", { "meta.lang": 1, _id: 1 }],
    ["under an object field", "sort=meta.other", { "meta.other": 1, _id: 1 }],
    ["five keys", "sort=a1,a2,a3,a4,a5", { a1: 1, a2: 1, a3: 1, a4: 1, a5: 1, _id: 1 }],
  ];
  it.each(cases)("%s", (_name, qs, sort) => {
    const ctx = qs.includes("a1") ? loose : sk;
    const result = parse(qs, ctx).sort;
    expect(result).toEqual(sort);
    expect(Object.keys(result)).toEqual(Object.keys(sort));
  });

  it("schemaless collections sort on any well-formed path", () => {
    expect(parse("sort=-anything.deep", loose).sort).toEqual({ "anything.deep": -1, _id: -1 });
  });

  const refused: Array<[string, string]> = [
    ["six keys", "sort=title,body,views,rank,published,email"],
    ["unknown field on a declared schema", "sort=nope"],
    ["unknown sortBy field", "sortBy=nope"],
    ["duplicate key", "sort=title,-title"],
    ["bad direction", "sort=title:up"],
    ["sign and direction", "sort=-title:asc"],
    ["bad sortDirection", "sortBy=title&sortDirection=sideways"],
    ["sortDirection without sortBy", "sortDirection=desc"],
    ["sort and sortBy together", "sort=title&sortBy=views"],
    ["_id not last", "sort=_id,title"],
    ["__proto__", "sort=__proto__"],
    ["$ field", "sort=$natural"],
    ["numeric field name", "sort=5"],
  ];
  it.each(refused)("%s → 400", (_name, qs) => {
    failure(qs, sk);
  });
});

describe("projection", () => {
  const cases: Array<[string, string, Record<string, 1> | undefined]> = [
    ["none", "", undefined],
    ["empty fields", "fields=", undefined],
    ["fields", "fields=title,views", { _id: 1, createdAt: 1, title: 1, views: 1 }],
    ["select alias", "select=title", { _id: 1, createdAt: 1, title: 1 }],
    ["fields + select", "fields=title&select=body", { _id: 1, body: 1, createdAt: 1, title: 1 }],
    ["sort keys are included", "fields=title&sort=-views", { _id: 1, title: 1, views: 1 }],
    [
      "nested paths collapse into their parent",
      "fields=meta,meta.lang,title&sort=meta.lang",
      { _id: 1, meta: 1, title: 1 },
    ],
    ["_id named explicitly", "fields=_id&sort=_id", { _id: 1 }],
    ["spaces trimmed", "fields=%20title%20,%20", { _id: 1, createdAt: 1, title: 1 }],
  ];
  it.each(cases)("%s", (_name, qs, projection) => {
    expect(parse(qs).projection).toEqual(projection);
  });

  it.each([
    ["bad path", "fields=a..b"],
    ["over 100 fields", `fields=${Array.from({ length: 101 }, (_, i) => `f${i}`).join(",")}`],
  ])("%s → 400", (_name, qs) => {
    failure(qs);
  });
});

describe("paging and count", () => {
  const cases: Array<[string, string, Pick<ListQuery, "page" | "limit" | "skip" | "count">]> = [
    ["defaults", "", { page: 1, limit: 20, skip: 0, count: false }],
    ["page 3 of 10", "page=3&limit=10", { page: 3, limit: 10, skip: 20, count: false }],
    ["limit 1", "limit=1", { page: 1, limit: 1, skip: 0, count: false }],
    ["limit 100", "limit=100", { page: 1, limit: 100, skip: 0, count: false }],
    ["limit 101 is 100", "page=2&limit=101", { page: 2, limit: 100, skip: 100, count: false }],
    ["count=true", "count=true", { page: 1, limit: 20, skip: 0, count: true }],
    ["count=false", "count=false", { page: 1, limit: 20, skip: 0, count: false }],
    ["cursor resets skip", "page=3&cursor=", { page: 3, limit: 20, skip: 0, count: false }],
  ];
  it.each(cases)("%s", (_name, qs, expected) => {
    expect(parse(qs)).toMatchObject(expected);
  });

  const refused: Array<[string, string, RegExp]> = [
    ["page 0", "page=0", /page must be an integer from 1/],
    ["negative page", "page=-1", /page must be an integer from 1/],
    ["fractional page", "page=1.5", /page must be an integer/],
    ["page not a number", "page=two", /page must be an integer/],
    ["limit 0", "limit=0", /limit must be an integer of at least 1 \(got 0\)/],
    ["huge limit", "limit=99999999999999999999", /limit must be an integer/],
    ["fractional limit", "limit=2.5", /limit must be an integer/],
    ["empty limit", "limit=", /limit must be an integer/],
    ["page twice", "page=1&page=2", /more than once/],
    ["count=yes", "count=yes", /count/],
    ["a pattern on _id", "_id_regex=6b04", /_id is matched exactly/],
    ["$regex on _id", `filter=${encodeURIComponent('{"_id":{"$not":{"$regex":"^6b"}}}')}`, /_id is matched exactly/],
    ["search on _id", "search=6b04&searchFields=_id", /_id is matched exactly/],
  ];
  it.each(refused)("%s → 400", (_name, qs, message) => {
    expect(failure(qs).message).toMatch(message);
  });
});

describe("cursor", () => {
  const sort = { views: -1, title: 1, _id: 1 } as const;
  const doc = { _id: ID, views: 5, title: "b" };

  it("round-trips through encodeCursor and parseListQuery", () => {
    const cursor = encodeCursor(doc, sort);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const query = parse(`sort=-views,title,_id&cursor=${cursor}&limit=5`, sk);
    expect(query.cursor).toBe(true);
    expect(query.skip).toBe(0);
    expect(query.baseFilter).toEqual({});
    expect(query.filter).toEqual({
      $or: [
        { views: { $lt: 5 } },
        { views: { $size: 0 } },
        { views: null },
        // A declared string may hold values of another type (stored before a type change).
        { views: 5, $or: [{ title: { $gt: "b" } }, { title: { $gte: {} } }, { title: { $in: [true, false] } }] },
        { views: 5, title: "b", _id: { $gt: ID } },
      ],
    });
  });

  it("is ANDed with the other filters; baseFilter leaves it out", () => {
    const cursor = encodeCursor({ _id: ID, createdAt: "2024-01-01T00:00:00.000Z" }, { createdAt: -1, _id: -1 });
    const query = parse(`title=x&cursor=${cursor}`, sk);
    expect(query.baseFilter).toEqual({ title: "x" });
    expect(query.filter).toEqual({
      title: "x",
      $or: [
        { createdAt: { $lt: "2024-01-01T00:00:00.000Z" } },
        { createdAt: null },
        { createdAt: "2024-01-01T00:00:00.000Z", _id: { $lt: ID } },
      ],
    });
  });

  it("encodes missing sort values as null and pages past them", () => {
    const filter = cursorFilter({ views: 1, _id: 1 }, encodeCursor({ _id: ID }, { views: 1, _id: 1 })!);
    expect(filter).toEqual({ $or: [{ views: { $ne: null } }, { views: null, _id: { $gt: ID } }] });
  });

  it("an empty cursor starts keyset paging without a condition", () => {
    expect(parse("cursor=", sk)).toMatchObject({ cursor: true, filter: {}, skip: 0 });
  });

  const refused: Array<[string, () => string]> = [
    ["garbage", () => "not a cursor!"],
    ["bad base64", () => "%%%"],
    ["not JSON", () => btoa("hello").replace(/=+$/, "")],
    ["JSON but not a cursor", () => toToken({ a: 1 })],
    ["other sort", () => encodeCursor(doc, { title: 1, _id: 1 })!],
    ["same keys, other direction", () => encodeCursor(doc, { views: 1, title: 1, _id: 1 })!],
    ["tampered _id", () => toToken({ v: 1, s: Object.entries(sort), k: [5, "b", "zz"] })],
    ["object value", () => toToken({ v: 1, s: Object.entries(sort), k: [{ $gt: 1 }, "b", ID] })],
    ["array value", () => toToken({ v: 1, s: Object.entries(sort), k: [[1, 2], "b", ID] })],
    ["wrong length", () => toToken({ v: 1, s: Object.entries(sort), k: [5, ID] })],
    ["wrong version", () => toToken({ v: 2, s: Object.entries(sort), k: [5, "b", ID] })],
    ["flipped bytes", () => flip(encodeCursor(doc, sort)!)],
    ["too long", () => "A".repeat(5000)],
  ];
  it.each(refused)("%s → 400", (_name, token) => {
    const params = new URLSearchParams({ sort: "-views,title", cursor: token() });
    expect(failure(params, sk).details?.[0]?.path).toBe("cursor");
  });
});

describe("cursor over sort values that are not single values", () => {
  it("encodeCursor gives no cursor when a sort value is an array or an object, or its path crosses an array", () => {
    const sort = { v: 1, _id: 1 } as const;
    for (const v of [[1, 2], [], { x: 1 }]) expect(encodeCursor({ _id: ID, v }, sort)).toBeNull();
    expect(encodeCursor({ _id: ID, a: [{ b: 1 }] }, { "a.b": 1, _id: 1 })).toBeNull();
    expect(encodeCursor({ _id: ID }, sort)).not.toBeNull();
  });

  it.each([
    ["a declared array", "sort=tags"],
    ["a path under a declared array of objects", "sort=-comments.text"],
    ["a position in a declared array", "sort=tags.0"],
    ["a declared object", "sort=meta"],
    ["an undeclared path under an open field", "sort=extra.x"],
  ])("a sort on %s pages without cursors: cursor= is 400, page/limit work", (_name, qs) => {
    const ctx: QueryContext = {
      fields: new Map([
        ["title", field("string")],
        ["tags", { type: "array", private: false, itemType: "string" }],
        ["comments", { type: "array", private: false, itemType: "object" }],
        ["comments.text", field("string")],
        ["meta", field("object")],
        ["meta.lang", field("string")],
        ["extra", field("any")],
      ]),
      isSecretKey: true,
    };
    expect(parseListQuery(new URLSearchParams(`${qs}&page=2`), ctx)).toMatchObject({ cursorable: false, skip: 20 });
    expect(failure(new URLSearchParams(`${qs}&cursor=`), ctx).message).toMatch(
      /no cursor paging on this sort.*use page/,
    );
    expect(parseListQuery(new URLSearchParams("sort=meta.lang,title"), ctx).cursorable).toBe(true);
  });

  it("a sort key above a selected field is not added to the projection, and gives no cursor", () => {
    const query = parseListQuery(new URLSearchParams("fields=meta.lang&sort=meta"), {
      fields: null,
      isSecretKey: true,
    });
    expect(query).toMatchObject({ cursorable: false, projection: { _id: 1, "meta.lang": 1 } });
  });
});

function toToken(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function flip(token: string): string {
  return `${token.slice(0, 10)}${token[10] === "A" ? "B" : "A"}${token.slice(11)}`;
}

describe("cursor paging against mingo (57 documents, ties and missing values)", () => {
  type Doc = Record<string, unknown> & { _id: string };

  function random(seed: number) {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function makeDocs(mixedTypes: boolean): Doc[] {
    const next = random(mixedTypes ? 7 : 42);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
    return Array.from({ length: 57 }, (_, i) => {
      const doc: Doc = {
        _id: (0xabc000 + ((i * 37) % 57)).toString(16).padStart(24, "0"),
        createdAt: `2024-01-0${1 + Math.floor(next() * 4)}T00:00:00.000Z`,
      };
      const roll = next();
      if (roll < 0.12) doc.views = null;
      else if (roll < 0.25) {
        // missing
      } else if (mixedTypes && roll < 0.35) doc.views = pick(["3", "10", "x", true, false]);
      else doc.views = Math.floor(next() * 5);
      if (next() < 0.8) doc.title = pick(["alpha", "beta", "gamma"]);
      if (next() < 0.7) doc.meta = next() < 0.8 ? { rank: Math.floor(next() * 3) } : {};
      return doc;
    });
  }

  const typedCtx: QueryContext = {
    fields: new Map([
      ["views", field("number")],
      ["title", field("string")],
      ["meta", field("object")],
      ["meta.rank", field("integer")],
    ]),
    isSecretKey: false,
  };

  function pageThrough(qs: string, ctx: QueryContext, docs: Doc[], limit: number) {
    const seen: Doc[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < 200; round++) {
      const params = new URLSearchParams(qs);
      params.set("limit", String(limit));
      if (cursor !== null) params.set("cursor", cursor);
      const query = parseListQuery(params, ctx);
      const found = new Query(query.filter)
        .find(docs)
        .sort(query.sort)
        .limit(query.limit + 1)
        .all() as Doc[];
      const items = found.slice(0, query.limit);
      seen.push(...items);
      if (found.length <= query.limit) return { seen, query };
      cursor = encodeCursor(items.at(-1)!, query.sort);
    }
    throw new Error("paging did not end");
  }

  const sorts = [
    ["asc", "sort=views"],
    ["desc", "sort=-views"],
    ["mixed 2-key", "sort=-views,title"],
    ["mixed 2-key, nested", "sort=title,-meta.rank"],
    ["default", ""],
    ["sortBy/sortDirection", "sortBy=meta.rank&sortDirection=asc"],
    ["with a filter", "sort=-views,title&title_ne=beta"],
  ] as const;

  for (const [label, ctx, mixedTypes] of [
    ["declared types", typedCtx, false],
    ["schemaless, mixed types", loose, true],
  ] as const) {
    describe(label, () => {
      const docs = makeDocs(mixedTypes);
      it.each(sorts.flatMap(([name, qs]) => [1, 7, 20].map((limit) => [name, qs, limit] as const)))(
        "%s (%s), limit %d",
        (_name, qs, limit) => {
          const { seen, query } = pageThrough(qs, ctx, docs, limit);
          const expected = new Query(query.baseFilter).find(docs).sort(query.sort).all() as Doc[];
          const ids = seen.map((d) => d._id);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids).toEqual(expected.map((d) => d._id));
          if (!qs.includes("title_ne")) expect(ids).toHaveLength(57);
        },
      );
    });
  }

  it("the generated data has ties, nulls, missing values and (schemaless) mixed types", () => {
    const docs = makeDocs(true);
    const views = docs.map((d) => d.views);
    expect(views.filter((v) => v === null).length).toBeGreaterThan(0);
    expect(docs.filter((d) => !("views" in d)).length).toBeGreaterThan(0);
    expect(views.filter((v) => typeof v === "string").length).toBeGreaterThan(0);
    expect(views.filter((v) => typeof v === "boolean").length).toBeGreaterThan(0);
    expect(views.filter((v) => v === 2).length).toBeGreaterThan(1);
  });
});
