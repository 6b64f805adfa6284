/** Access rules (API.md §4.2) as pure decisions: rulesFor, decideAccess, ownerFilter, ownedInsert, assertOwnerKept. */
import { describe, expect, it } from "vitest";
import {
  assertOwnerKept,
  authorize,
  type Caller,
  decideAccess,
  ownedBy,
  ownedInsert,
  ownerFilter,
  ownsDocuments,
  rulesFor,
} from "../shared/rules.js";
import type { AccessRule, CollectionDef, Operation } from "../shared/schema/definition.js";
import { thrown } from "./helpers.js";

type RuleDef = Pick<CollectionDef, "rls" | "permissions" | "fields">;

const def = (rls: Partial<CollectionDef["rls"]> = {}, permissions: CollectionDef["permissions"] = {}): RuleDef => ({
  rls: { enabled: false, mode: "public-read", ownerField: "userId", ...rls },
  permissions,
  fields: [],
});

const OPS: Operation[] = ["list", "read", "create", "update", "delete"];
const ALICE = "a".repeat(24);
const BOB = "b".repeat(24);

const callers = {
  sk: { keyType: "secret", userId: null, tokenError: null },
  guest: { keyType: "publishable", userId: null, tokenError: null },
  alice: { keyType: "publishable", userId: ALICE, tokenError: null },
  invalid: { keyType: "publishable", userId: null, tokenError: "TOKEN_INVALID" },
  expired: { keyType: "publishable", userId: null, tokenError: "TOKEN_EXPIRED" },
} satisfies Record<string, Caller>;

describe("rulesFor", () => {
  const row = (list: AccessRule, create: AccessRule) => ({ list, read: list, create, update: create, delete: create });
  it.each<[string, RuleDef, Record<Operation, AccessRule>]>([
    ["rls disabled (default)", def(), row("guest", "secret")],
    ["rls disabled, mode private ignored", def({ mode: "private" }), row("guest", "secret")],
    ["public-read", def({ enabled: true }), row("guest", "owner")],
    ["private", def({ enabled: true, mode: "private" }), row("owner", "owner")],
  ])("%s", (_name, rules, expected) => {
    expect(rulesFor(rules)).toEqual(expected);
  });

  it("lets permissions override single operations and keeps the rest", () => {
    expect(rulesFor(def({}, { create: "user" }))).toEqual({ ...row("guest", "secret"), create: "user" });
    expect(rulesFor(def({ enabled: true }, { list: "secret", delete: "secret" }))).toEqual({
      list: "secret",
      read: "guest",
      create: "owner",
      update: "owner",
      delete: "secret",
    });
    expect(rulesFor(def({ enabled: true, mode: "private" }, { read: "guest", create: "user" }))).toEqual({
      list: "owner",
      read: "guest",
      create: "user",
      update: "owner",
      delete: "owner",
    });
  });
});

describe("decideAccess", () => {
  // [caller, rule] → expected for a read operation and for a write operation.
  const table: Array<[keyof typeof callers, AccessRule, string, string]> = [
    ["sk", "secret", "allowed", "allowed"],
    ["sk", "owner", "allowed", "allowed"],
    ["sk", "guest", "allowed", "allowed"],
    ["guest", "guest", "allowed", "allowed"],
    ["guest", "user", "AUTH_REQUIRED", "AUTH_REQUIRED"],
    ["guest", "owner", "AUTH_REQUIRED", "AUTH_REQUIRED"],
    ["guest", "secret", "READ_BLOCKED", "WRITE_BLOCKED"],
    ["alice", "guest", "allowed", "allowed"],
    ["alice", "user", "allowed", "allowed"],
    ["alice", "owner", `owner ${ALICE}`, `owner ${ALICE}`],
    ["alice", "secret", "READ_BLOCKED", "WRITE_BLOCKED"],
    ["invalid", "guest", "TOKEN_INVALID", "TOKEN_INVALID"],
    ["invalid", "owner", "TOKEN_INVALID", "TOKEN_INVALID"],
    ["invalid", "secret", "READ_BLOCKED", "WRITE_BLOCKED"],
    ["expired", "user", "TOKEN_EXPIRED", "TOKEN_EXPIRED"],
    ["expired", "owner", "TOKEN_EXPIRED", "TOKEN_EXPIRED"],
  ];
  const verdict = (caller: Caller, rule: AccessRule, op: Operation) => {
    const decision = decideAccess(caller, rule, op);
    if (!decision.allowed) return decision.code;
    return decision.ownerId === null ? "allowed" : `owner ${decision.ownerId}`;
  };

  it.each(table)("%s under %s: read → %s, write → %s", (who, rule, read, write) => {
    for (const op of OPS) {
      const reading = op === "list" || op === "read";
      expect(verdict(callers[who], rule, op)).toBe(reading ? read : write);
    }
  });

  it("never gives sk an owner confinement", () => {
    const skWithUser: Caller = { keyType: "secret", userId: ALICE, tokenError: null };
    expect(decideAccess(skWithUser, "owner", "list")).toEqual({ allowed: true, ownerId: null });
  });

  it("authorize throws the denial and returns the confinement", () => {
    const rules = def({ enabled: true, mode: "private" });
    expect(authorize(callers.alice, rules, "list")).toBe(ALICE);
    expect(authorize(callers.sk, rules, "delete")).toBeNull();
    expect(thrown(() => authorize(callers.guest, rules, "read"))).toMatchObject({
      status: 401,
      code: "AUTH_REQUIRED",
      message: "Authentication required",
    });
    expect(thrown(() => authorize(callers.guest, def(), "create"))).toMatchObject({
      status: 403,
      code: "WRITE_BLOCKED",
      message: "Write blocked for publishable key",
    });
    expect(thrown(() => authorize(callers.guest, def({}, { list: "secret" }), "list"))).toMatchObject({
      status: 403,
      code: "READ_BLOCKED",
    });
  });
});

describe("ownerFilter", () => {
  it("is empty without confinement and names the owner field with one", () => {
    expect(ownerFilter(def({ enabled: true }), null)).toEqual({});
    expect(ownerFilter(def({ enabled: true }), ALICE)).toEqual({ userId: ALICE });
    expect(ownerFilter(def({ enabled: true, ownerField: "author" }), ALICE)).toEqual({ author: ALICE });
    expect(ownerFilter(def({ enabled: true, ownerField: "_id" }), ALICE)).toEqual({ _id: ALICE });
  });
});

describe("ownsDocuments", () => {
  it("is true with rls enabled or any owner rule", () => {
    expect(ownsDocuments(def())).toBe(false);
    expect(ownsDocuments(def({}, { create: "user", list: "guest" }))).toBe(false);
    expect(ownsDocuments(def({ enabled: true }))).toBe(true);
    expect(ownsDocuments(def({}, { update: "owner" }))).toBe(true);
  });
});

describe("ownedInsert", () => {
  const owned = [
    ["public-read", def({ enabled: true })],
    ["private", def({ enabled: true, mode: "private" })],
    ["rls disabled, create: owner", def({}, { create: "owner" })],
    ["rls disabled, create: user, update: owner", def({}, { create: "user", update: "owner" })],
    ["public-read, create: user", def({ enabled: true }, { create: "user" })],
  ] as const;

  it.each(owned)("%s: injects the caller as owner when the field is absent", (_name, rules) => {
    expect(ownedInsert({ title: "x" }, rules, ALICE)).toEqual({ title: "x", userId: ALICE });
  });

  it.each(owned)("%s: keeps the caller's own id and refuses someone else's", (_name, rules) => {
    expect(ownedInsert({ userId: ALICE }, rules, ALICE)).toEqual({ userId: ALICE });
    expect(thrown(() => ownedInsert({ userId: BOB }, rules, ALICE))).toMatchObject({
      status: 403,
      code: "OWNER_MISMATCH",
      message: "RLS owner mismatch",
    });
    expect(thrown(() => ownedInsert({ userId: [ALICE] }, rules, ALICE)).code).toBe("OWNER_MISMATCH");
    expect(thrown(() => ownedInsert({ userId: "" }, rules, ALICE)).code).toBe("OWNER_MISMATCH");
  });

  it.each(owned)("%s: null is no value, so the caller becomes the owner", (_name, rules) => {
    expect(ownedInsert({ title: "x", userId: null }, rules, ALICE)).toEqual({ title: "x", userId: ALICE });
  });

  it("ignores createdBy as owner field in a body: the server sets it to the caller", () => {
    const rules = def({ enabled: true, ownerField: "createdBy" });
    const body = { title: "x", createdBy: BOB };
    expect(ownedInsert(body, rules, ALICE)).toBe(body);
  });

  it.each(owned)("%s: refuses every user insert when the owner field is _id", (_name, rules) => {
    const idOwned = { ...rules, rls: { ...rules.rls, ownerField: "_id" } };
    expect(thrown(() => ownedInsert({ title: "x" }, idOwned, ALICE))).toMatchObject({
      status: 403,
      code: "INSERT_DENIED",
      message: "Insert denied",
    });
  });

  it("uses the configured owner field", () => {
    const rules = def({ enabled: true, ownerField: "author" });
    expect(ownedInsert({ userId: BOB }, rules, ALICE)).toEqual({ userId: BOB, author: ALICE });
    expect(thrown(() => ownedInsert({ author: BOB }, rules, ALICE)).code).toBe("OWNER_MISMATCH");
  });

  it("lets a guest (no user) insert an owned document only without an owner", () => {
    const rules = def({ enabled: true }, { create: "guest" });
    const body = { title: "x" };
    expect(ownedInsert(body, rules, null)).toBe(body);
    for (const owner of [BOB, ""]) {
      expect(thrown(() => ownedInsert({ userId: owner }, rules, null)).code).toBe("OWNER_MISMATCH");
    }
    // null is no value: it names no owner.
    expect(ownedInsert({ userId: null }, rules, null)).toEqual({ userId: null });
    // System owner fields are never read from a body: naming them sets nothing.
    const byId = { _id: BOB, title: "x" };
    expect(ownedInsert(byId, def({ enabled: true, ownerField: "_id" }, { create: "guest" }), null)).toBe(byId);
  });

  it("passes collections without owners unchanged", () => {
    const body = { userId: BOB };
    expect(ownedInsert(body, def({}, { create: "user" }), ALICE)).toBe(body);
    expect(ownedInsert(body, def({}, { create: "guest" }), null)).toBe(body);
    expect(ownedInsert({ title: "x" }, def(), ALICE)).toEqual({ title: "x" });
  });

  it("never matches a lookalike key to the owner field", () => {
    // Lookalike keys are refused before this (INVALID_FIELD_NAME); here they are just other keys.
    expect(ownedInsert({ " userId": BOB }, def({ enabled: true }), ALICE)).toEqual({ " userId": BOB, userId: ALICE });
  });
});

describe("assertOwnerKept", () => {
  const rules = def({ enabled: true });

  it("accepts an update that keeps the owner", () => {
    expect(() => assertOwnerKept({ userId: ALICE, t: 1 }, { userId: ALICE, t: 2 }, rules)).not.toThrow();
    expect(() => assertOwnerKept({ t: 1 }, { t: 2 }, rules)).not.toThrow();
  });

  it.each([
    ["changes it", { userId: BOB }],
    ["drops it", {}],
    ["sets null", { userId: null }],
  ])("refuses an update that %s", (_name, next) => {
    expect(thrown(() => assertOwnerKept({ userId: ALICE }, next, rules))).toMatchObject({
      status: 403,
      code: "OWNER_IMMUTABLE",
      message: "Owner field immutable",
    });
  });

  it("refuses giving an unowned document an owner", () => {
    expect(thrown(() => assertOwnerKept({}, { userId: ALICE }, rules)).code).toBe("OWNER_IMMUTABLE");
  });

  it("applies to owner rules without rls, not to collections without owners", () => {
    expect(thrown(() => assertOwnerKept({ userId: ALICE }, { userId: BOB }, def({}, { update: "owner" }))).code).toBe(
      "OWNER_IMMUTABLE",
    );
    expect(() => assertOwnerKept({ userId: ALICE }, { userId: BOB }, def())).not.toThrow();
    expect(() => assertOwnerKept({ userId: ALICE }, { userId: BOB }, def({}, { update: "user" }))).not.toThrow();
  });

  it("checks the configured owner field only", () => {
    const author = def({ enabled: true, ownerField: "author" });
    expect(() => assertOwnerKept({ author: ALICE, userId: 1 }, { author: ALICE, userId: 2 }, author)).not.toThrow();
    expect(thrown(() => assertOwnerKept({ author: ALICE }, { author: BOB }, author)).code).toBe("OWNER_IMMUTABLE");
  });

  it("ignores system owner fields, which no body can change", () => {
    const byId = def({ enabled: true, ownerField: "_id" });
    const byCreator = def({ enabled: true, ownerField: "createdBy" });
    expect(() => assertOwnerKept({ _id: ALICE }, {}, byId)).not.toThrow();
    expect(() => assertOwnerKept({ createdBy: ALICE }, { title: "x" }, byCreator)).not.toThrow();
  });
});

describe("member lists (an owner field declared array)", () => {
  const CAROL = "c".repeat(24);
  const channels: RuleDef = {
    ...def({ enabled: true, mode: "private", ownerField: "members" }),
    fields: [{ name: "members", type: "array", items: { type: "string" } }],
  };

  it("an insert without the list names its creator alone", () => {
    expect(ownedInsert({ title: "x" }, channels, ALICE)).toEqual({ title: "x", members: [ALICE] });
    expect(ownedInsert({ members: null }, channels, ALICE)).toEqual({ members: [ALICE] });
  });

  it("keeps a list that holds the creator, others too", () => {
    const body = { members: [BOB, ALICE, CAROL] };
    expect(ownedInsert(body, channels, ALICE)).toBe(body);
  });

  it("refuses a list without the creator (403) and one that is not a list of distinct ids (400)", () => {
    expect(thrown(() => ownedInsert({ members: [BOB] }, channels, ALICE)).code).toBe("OWNER_MISMATCH");
    expect(thrown(() => ownedInsert({ members: [] }, channels, ALICE)).code).toBe("OWNER_MISMATCH");
    for (const members of [ALICE, { 0: ALICE }]) {
      expect(thrown(() => ownedInsert({ members }, channels, ALICE))).toMatchObject({
        code: "VALIDATION_FAILED",
        details: [{ path: "members" }],
      });
    }
    for (const [members, at] of [
      [[ALICE, "nope"], "members.1"],
      [[ALICE, BOB.toUpperCase()], "members.1"],
      [[ALICE, 7], "members.1"],
      [[BOB, ALICE, BOB], "members.2"],
    ] as const) {
      expect(thrown(() => ownedInsert({ members }, channels, ALICE))).toMatchObject({
        code: "VALIDATION_FAILED",
        details: [{ path: at }],
      });
    }
  });

  it("lets a guest name no member at all", () => {
    const guests: RuleDef = { ...channels, permissions: { create: "guest" } };
    expect(ownedInsert({ title: "x" }, guests, null)).toEqual({ title: "x" });
    expect(thrown(() => ownedInsert({ members: [BOB] }, guests, null)).code).toBe("OWNER_MISMATCH");
  });

  it("an update keeps the list by value: the same list passes, any change is refused", () => {
    expect(() => assertOwnerKept({ members: [ALICE, BOB] }, { members: [ALICE, BOB] }, channels)).not.toThrow();
    for (const members of [[ALICE], [ALICE, BOB, CAROL], [BOB, ALICE], [], null, ALICE]) {
      expect(thrown(() => assertOwnerKept({ members: [ALICE, BOB] }, { members }, channels)).code).toBe(
        "OWNER_IMMUTABLE",
      );
    }
    expect(thrown(() => assertOwnerKept({ members: [ALICE] }, {}, channels)).code).toBe("OWNER_IMMUTABLE");
  });

  it("ownedBy: the id itself or an element of the list; an owner field of another type keeps one owner", () => {
    expect(ownedBy(channels, ALICE, ALICE)).toBe(true);
    expect(ownedBy(channels, [BOB, ALICE], ALICE)).toBe(true);
    expect(ownedBy(channels, [BOB], ALICE)).toBe(false);
    expect(ownedBy(channels, BOB, ALICE)).toBe(false);
    expect(ownedBy(channels, undefined, ALICE)).toBe(false);
    const single: RuleDef = { ...channels, fields: [{ name: "members", type: "any" }] };
    expect(ownedBy(single, [BOB, ALICE], ALICE)).toBe(false);
    expect(() => assertOwnerKept({ members: [ALICE] }, { members: [ALICE] }, single)).toThrow();
  });

  it("a list longer than 100 members is refused before it is searched", () => {
    const long = [ALICE, ...Array.from({ length: 40_000 }, (_, n) => n.toString(16).padStart(24, "0"))];
    expect(thrown(() => ownedInsert({ members: long }, channels, ALICE)).details).toEqual([
      { path: "members", message: "At most 100 members" },
    ]);
  });
});
