/**
 * Collection definitions (API.md §4.1): the urBackend-compatible field list plus access rules.
 * `definitionSchema` turns a POST/PUT body into a normalized CollectionDef; everything else here
 * reads normalized definitions.
 */
import { RE2JS } from "re2js";
import { z } from "zod";
import { ApiError } from "../errors.js";
import { requiredWhenMissing } from "../http.js";
import { assertSafeBody, foldName, hasInvisibleChars, isPlainObject, unsafeKeyReason } from "../sanitize.js";
import { COLLECTION_NAME, isUsersCollection, looksLikeUsers } from "./names.js";
import { compilePattern, issueDetails, valueSchema } from "./value-schema.js";

export const FIELD_TYPES = [
  "string",
  "number",
  "integer",
  "boolean",
  "date",
  "object",
  "array",
  "ref",
  "email",
  "url",
  "any",
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldDef {
  name: string;
  type: FieldType;
  required?: boolean;
  default?: unknown;
  unique?: boolean;
  index?: boolean;
  enum?: unknown[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Omit<FieldDef, "name">;
  fields?: FieldDef[];
  private?: boolean;
  /** Changed by the secret key only: a publishable-key write changing it is refused (readonly-values.ts). */
  readonly?: boolean;
  ref?: string;
}
/** The element description of an array field (`items`): a field without a name. */
export type ItemDef = Omit<FieldDef, "name">;

export const OPERATIONS = ["list", "read", "create", "update", "delete"] as const;
export type Operation = (typeof OPERATIONS)[number];
export const ACCESS_RULES = ["guest", "user", "owner", "secret"] as const;
export type AccessRule = (typeof ACCESS_RULES)[number];

/** A `publicWhen` condition: declared scalar fields, each to the one value (as stored) that makes a document public. */
export type PublicWhen = Record<string, string | number | boolean>;

export interface RlsConfig {
  enabled: boolean;
  mode: "public-read" | "private";
  ownerField: string;
  /** Which documents a pk reader who is not their owner sees (shared/rules.ts `readFilter`); all when absent. */
  publicWhen?: PublicWhen;
}

export interface CollectionDef {
  name: string;
  fields: FieldDef[];
  additionalFields: boolean;
  rls: RlsConfig;
  permissions: Partial<Record<Operation, AccessRule>>;
  aggregate?: { publishable: boolean };
  /**
   * Groups of fields unique together (`[["listingId", "buyerId"]]`): no two documents that have
   * every field of a group hold the same values in all of them. Absent when there are none.
   */
  uniqueTogether?: string[][];
}

/** Fields the server owns on every document; never declared, never taken from a body. */
export const SYSTEM_FIELDS: readonly string[] = ["_id", "createdAt", "updatedAt", "createdBy"];
/** Deepest declared nesting: top-level fields are level 1; each `fields` or `items` step adds one. */
export const MAX_NESTING = 4;
export const MAX_FIELDS_PER_LEVEL = 200;
export const MAX_FIELD_NAME_LENGTH = 128;
const MAX_PATTERN_LENGTH = 1024;
/** Most field descriptions in one definition, every level together (an array's `items` counts as one). */
export const MAX_TOTAL_FIELDS = 1000;
/**
 * Most `index` or `unique` fields of one collection, every level together, and `uniqueTogether`
 * groups: MongoDB keeps at most 64 indexes per collection, and there a unique field takes two (a
 * group one), beside `_id`, `createdAt`, the owner field and, on `users`, the auth function's own.
 */
export const MAX_INDEXED_FIELDS = 25;
/** Most `uniqueTogether` groups of one collection (each also counts toward MAX_INDEXED_FIELDS: it is one more index). */
export const MAX_UNIQUE_GROUPS = 16;
/** Fields of one `uniqueTogether` group: at least two (one alone is a `unique` field), at most eight. */
export const MIN_GROUP_FIELDS = 2;
export const MAX_GROUP_FIELDS = 8;
/** Largest definition, in bytes of its JSON as stored and answered (`definitionView`). */
export const MAX_DEFINITION_BYTES = 64 * 1024;
/** Most RE2 instructions the `pattern`s of one definition compile to, together (`.{1000}` alone takes 1002). */
export const MAX_PATTERN_PROGRAM = 10_000;
const SYSTEM_FOLDED = new Set(SYSTEM_FIELDS.map(foldName));
/** `items.0` is ambiguous in MongoDB (field "0" or the first element), so no field is named by digits alone. */
const ALL_DIGITS = /^[0-9]+$/;

/** Why a field name cannot be declared, or undefined when it can. */
export function fieldNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_FIELD_NAME_LENGTH) return `must be at most ${MAX_FIELD_NAME_LENGTH} characters`;
  const unsafe = unsafeKeyReason(name);
  if (unsafe) return unsafe;
  if (name !== name.trim()) return "must not start or end with whitespace";
  if (/[^\S ]/u.test(name) || hasInvisibleChars(name.replaceAll(" ", ""))) {
    return "must not contain invisible, control or formatting characters";
  }
  if (SYSTEM_FOLDED.has(foldName(name))) return "is a system field";
  if (ALL_DIGITS.test(name)) return "must not be all digits (a numeric path segment reads as an array position)";
  return undefined;
}

/** Why a string cannot name a collection, or undefined when it can. */
export function collectionNameProblem(name: string): string | undefined {
  if (name.startsWith("_") || name.startsWith("system.")) return "is reserved";
  if (!COLLECTION_NAME.test(name)) return "must match ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$";
  if (looksLikeUsers(name) && !isUsersCollection(name)) return "is reserved: the accounts collection is `users`";
  return undefined;
}

const NUMERIC = new Set<FieldType>(["number", "integer"]);
const STRINGY = new Set<FieldType>(["string", "email", "url"]);
const ENUMERABLE = new Set<FieldType>(["string", "number", "integer", "boolean", "email", "url", "ref"]);
const NOT_UNIQUE = new Set<FieldType>(["object", "array", "any"]);
const NOT_INDEXED = new Set<FieldType>(["object", "any"]);

const typeSchema = z.string().transform((value, ctx) => {
  const type = value.toLowerCase() as FieldType;
  if (FIELD_TYPES.includes(type)) return type;
  ctx.addIssue({ code: "custom", message: `Unknown type "${value}"; expected one of ${FIELD_TYPES.join(", ")}` });
  return z.NEVER;
});

const tooDeep = z
  .unknown()
  .refine((v) => v == null || (Array.isArray(v) && v.length === 0), `Nesting deeper than ${MAX_NESTING} levels`)
  .optional();

type Ctx = z.RefinementCtx;
type Raw = Record<string, unknown>;
const issue = (ctx: Ctx, path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", message, path });

/** Where a field sits: its level, whether it is named (a list entry) or an array's `items`, inside an array. */
interface Place {
  depth: number;
  named: boolean;
  inArray: boolean;
}

function fieldSchema(place: Place): z.ZodType<FieldDef | ItemDef> {
  const deeper = place.depth < MAX_NESTING;
  const shape = {
    type: typeSchema,
    enum: z.array(z.unknown()).min(1, "enum must not be empty").max(1000).nullish(),
    min: z.number().nullish(),
    max: z.number().nullish(),
    minLength: z.int().min(0).nullish(),
    maxLength: z.int().min(0).nullish(),
    pattern: z.string().max(MAX_PATTERN_LENGTH).nullish(),
    items: deeper ? fieldSchema({ depth: place.depth + 1, named: false, inArray: true }).nullish() : tooDeep,
    fields: deeper ? fieldList({ ...place, depth: place.depth + 1, named: true }).nullish() : tooDeep,
    ref: z.string().nullish(),
  };
  const named = {
    name: z.string().optional(),
    key: z.string().optional(),
    required: z.boolean().nullish(),
    default: z.unknown().optional(),
    unique: z.boolean().nullish(),
    index: z.boolean().nullish(),
    private: z.boolean().nullish(),
    readonly: z.boolean().nullish(),
    _id: z.unknown().optional(),
  };
  return (place.named ? z.strictObject({ ...shape, ...named }) : z.strictObject(shape)).transform((raw: Raw, ctx) =>
    normalizeField(raw, ctx, place),
  );
}

/** The name a (possibly not yet normalized) field entry declares. */
const declaredName = (entry: unknown): string | undefined => {
  if (!isPlainObject(entry)) return undefined;
  const name = entry.name ?? entry.key;
  return typeof name === "string" ? name : undefined;
};

/** One top-level field as a body gives it (a PATCH's `fields` entry), normalized like a definition's. */
export const topLevelFieldSchema = fieldSchema({ depth: 1, named: true, inArray: false }) as z.ZodType<FieldDef>;

function fieldList(place: Place): z.ZodType<FieldDef[]> {
  return z
    .array(fieldSchema(place) as z.ZodType<FieldDef>)
    .max(MAX_FIELDS_PER_LEVEL, `At most ${MAX_FIELDS_PER_LEVEL} fields per level`)
    .superRefine(
      (fields, ctx) => {
        if (!Array.isArray(fields)) return;
        const seen = new Map<string, number>();
        fields.forEach((field, i) => {
          const name = declaredName(field);
          if (name === undefined) return;
          const first = seen.get(foldName(name));
          if (first === undefined) seen.set(foldName(name), i);
          else issue(ctx, [i, "name"], `Duplicate field name "${name}" (same as field ${first})`);
        });
      },
      // Duplicates are reported even when some entries have other problems.
      { when: () => true },
    );
}

const PROPERTY_ORDER = ["default", "unique", "index", "enum", "min", "max", "minLength", "maxLength", "pattern"];
const TAIL_ORDER = ["items", "fields", "private", "readonly", "ref"];

function normalizeField(raw: Raw, ctx: Ctx, place: Place): FieldDef | ItemDef {
  const out: Raw = {};
  const before = { failed: false };
  const fail = (path: PropertyKey[], message: string) => {
    before.failed = true;
    issue(ctx, path, message);
  };
  if (place.named) {
    const name = (raw.name ?? raw.key) as string | undefined;
    const from = raw.name === undefined ? "key" : "name";
    if (raw.name !== undefined && raw.key !== undefined && raw.name !== raw.key) fail(["key"], "key and name differ");
    if (name === undefined) fail(["name"], "Required");
    else {
      const problem = fieldNameProblem(name);
      if (problem) fail([from], `Field name ${JSON.stringify(name)} ${problem}`);
    }
    out.name = name;
  }
  const type = raw.type as FieldType;
  out.type = type;
  if (place.named) out.required = raw.required === true;
  for (const key of [...PROPERTY_ORDER, ...TAIL_ORDER]) if (raw[key] != null) out[key] = raw[key];
  const field = out as unknown as FieldDef;

  // `unique: false` and `index: false` ask for nothing, so they fit anywhere (urBackend's model says unique: false at every level).
  const misplaced = (key: keyof FieldDef, allowed: boolean, what: string) => {
    if (field[key] !== undefined && field[key] !== false && !allowed) fail([key], `${key} applies only to ${what}`);
  };
  misplaced("min", NUMERIC.has(type), "number and integer fields");
  misplaced("max", NUMERIC.has(type), "number and integer fields");
  misplaced("minLength", STRINGY.has(type) || type === "array", "string, email, url and array fields");
  misplaced("maxLength", STRINGY.has(type) || type === "array", "string, email, url and array fields");
  misplaced("pattern", STRINGY.has(type), "string, email and url fields");
  misplaced("enum", ENUMERABLE.has(type), "string, number, integer, boolean, email, url and ref fields");
  misplaced("items", type === "array", "array fields");
  misplaced("fields", type === "object", "object fields");
  misplaced("ref", type === "ref", "ref fields");
  misplaced("unique", !NOT_UNIQUE.has(type) && !place.inArray, "scalar fields outside arrays");
  misplaced("index", !NOT_INDEXED.has(type) && !place.inArray, "scalar and array fields outside arrays");
  if (field.min !== undefined && field.max !== undefined && field.min > field.max) fail(["max"], "max must be ≥ min");
  if (field.minLength !== undefined && field.maxLength !== undefined && field.minLength > field.maxLength) {
    fail(["maxLength"], "maxLength must be ≥ minLength");
  }
  if (field.pattern !== undefined && !compilePattern(field.pattern)) fail(["pattern"], "Invalid regular expression");
  if (field.ref !== undefined && collectionNameProblem(field.ref)) fail(["ref"], "Invalid collection name");
  if (before.failed) return field;

  const { enum: allowed, default: fallback, ...rest } = field;
  if (allowed) {
    const plain = valueSchema(rest, { additionalFields: true });
    field.enum = allowed.map((value, i) => {
      const result = plain.safeParse(value);
      if (!result.success)
        issue(ctx, ["enum", i], `enum value does not fit the field: ${result.error.issues[0]?.message}`);
      return result.success ? result.data : value;
    });
  }
  if (fallback !== undefined) {
    for (const detail of defaultProblems(field, true)) issue(ctx, ["default", ...detail.path], detail.message);
  }
  return field;
}

function defaultProblems(field: ItemDef, additionalFields: boolean) {
  const result = valueSchema(field, { additionalFields }).safeParse(structuredClone(field.default));
  return result.success ? [] : result.error.issues.map((i) => ({ path: i.path, message: i.message }));
}

const ruleSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(ACCESS_RULES));

/** The owner field: a declarable field name, or `_id` / `createdBy`. */
const ownerFieldSchema = z.string().superRefine((name, ctx) => {
  const problem = name === "_id" || name === "createdBy" ? undefined : fieldNameProblem(name);
  if (problem) issue(ctx, [], `ownerField ${JSON.stringify(name)} ${problem}`);
});

const rlsSchema = z.strictObject({
  enabled: z.boolean().nullish(),
  mode: z.enum(["public-read", "private", "owner-write-only"]).nullish(),
  ownerField: ownerFieldSchema.nullish(),
  requireAuthForWrite: z
    .boolean()
    .refine((v) => v, 'requireAuthForWrite: false is not supported; set permissions (e.g. "create": "guest")')
    .nullish(),
  publicWhen: z
    .record(z.string(), z.unknown())
    .refine((v) => Object.keys(v).length > 0, "publicWhen must name at least one field")
    .nullish(),
});

const permissionsSchema = z.strictObject({
  list: ruleSchema.nullish(),
  read: ruleSchema.nullish(),
  create: ruleSchema.nullish(),
  update: ruleSchema.nullish(),
  delete: ruleSchema.nullish(),
});

/** zod schema: a POST/PUT body → normalized CollectionDef (`key` → `name`, `model` → `fields`, defaults). */
export const definitionSchema: z.ZodType<CollectionDef> = z
  .strictObject({
    name: z.string().superRefine((name, ctx) => {
      const problem = collectionNameProblem(name);
      if (problem) issue(ctx, [], `Collection name ${JSON.stringify(name)} ${problem}`);
    }),
    fields: fieldList({ depth: 1, named: true, inArray: false }).nullish(),
    model: fieldList({ depth: 1, named: true, inArray: false }).nullish(),
    additionalFields: z.boolean().nullish(),
    rls: rlsSchema.nullish(),
    permissions: permissionsSchema.nullish(),
    aggregate: z.strictObject({ publishable: z.boolean() }).nullish(),
    uniqueTogether: z
      .array(
        z
          .array(z.string())
          .min(MIN_GROUP_FIELDS, `A group names at least ${MIN_GROUP_FIELDS} fields (one alone: declare it unique)`)
          .max(MAX_GROUP_FIELDS, `A group names at most ${MAX_GROUP_FIELDS} fields`),
      )
      .max(MAX_UNIQUE_GROUPS, `At most ${MAX_UNIQUE_GROUPS} uniqueTogether groups`)
      .nullish(),
  })
  .transform((raw, ctx): CollectionDef => {
    if (raw.fields && raw.model) issue(ctx, ["model"], "Give fields or model, not both");
    const given = raw.fields ?? raw.model ?? [];
    const additionalFields = raw.additionalFields ?? given.length === 0;
    if (!additionalFields) strictDefaultProblems(given, [raw.fields ? "fields" : "model"], ctx);
    const mode = raw.rls?.mode === "private" ? "private" : "public-read";
    const rls = { enabled: raw.rls?.enabled ?? false, mode, ownerField: raw.rls?.ownerField ?? "userId" } as const;
    const lookalike = given.find((f) => f.name !== rls.ownerField && foldName(f.name) === foldName(rls.ownerField));
    if (lookalike)
      issue(ctx, ["rls", "ownerField"], `ownerField "${rls.ownerField}" looks like the field "${lookalike.name}"`);
    const permissions: Partial<Record<Operation, AccessRule>> = {};
    for (const op of OPERATIONS) {
      const rule = raw.permissions?.[op];
      if (rule != null) permissions[op] = rule;
    }
    const owned = rls.enabled || Object.values(permissions).includes("owner");
    if (owned) ownerFieldProblems(given, rls.ownerField, [raw.fields ? "fields" : "model"], ctx);
    const fields = owned ? withMemberLimit(given, rls.ownerField) : given;
    const publicWhen = raw.rls?.publicWhen ? publicWhenOf(raw.rls.publicWhen, fields, owned, ctx) : undefined;
    const def: CollectionDef = {
      name: raw.name,
      fields,
      additionalFields,
      rls: publicWhen ? { ...rls, publicWhen } : rls,
      permissions,
    };
    if (raw.aggregate) def.aggregate = { publishable: raw.aggregate.publishable };
    if (raw.uniqueTogether?.length) def.uniqueTogether = uniqueGroupsOf(raw.uniqueTogether, fields, rls, owned, ctx);
    const groups = def.uniqueTogether?.length ?? 0;
    if (indexedFields(def).length + groups > MAX_INDEXED_FIELDS) {
      const also = groups > 0 ? `, uniqueTogether groups included (each is one index)` : "";
      const path = groups > 0 ? ["uniqueTogether"] : [raw.fields ? "fields" : "model"];
      issue(ctx, path, `At most ${MAX_INDEXED_FIELDS} fields may be indexed or unique${also}`);
    }
    return def;
  });

/**
 * Why a `uniqueTogether` path cannot be in a group, or undefined when it can: it must name a declared
 * field that could itself be `unique` (scalar, not inside an array; a dotted path for a field of a
 * nested object) and is not private, nor under a private object. The owner field of a collection
 * whose documents have owners may be left undeclared (the server writes the owner's id there); when
 * declared, it is checked as any other field.
 */
function groupPathProblem(
  path: string,
  fields: readonly FieldDef[],
  ownerField: string | undefined,
): string | undefined {
  if (path === ownerField && !fields.some((field) => field.name === path)) return undefined;
  const parts = path.split(".");
  let level: readonly FieldDef[] | undefined = fields;
  for (const [i, part] of parts.entries()) {
    const field: FieldDef | undefined = level?.find((f) => f.name === part);
    const at = parts.slice(0, i + 1).join(".");
    if (!field) {
      return `"${at}" is not a declared field: a group names declared fields (take it out of the group, or the group out, with the field)`;
    }
    if (field.private) {
      // A 409 names every field of the group, and a publishable-key write of public fields would be
      // refused through the private value stored beside them: a way to learn what it cannot read.
      return `"${at}" is private: a group names public fields only (a duplicate names its fields to every caller)`;
    }
    if (i === parts.length - 1) {
      if (NOT_UNIQUE.has(field.type)) {
        return `"${at}" is of type ${field.type}: a group takes scalar fields outside arrays, as unique does`;
      }
      return undefined;
    }
    if (field.type !== "object") {
      return `"${at}" is of type ${field.type}: a dotted path goes through object fields only (a group takes no field inside an array)`;
    }
    level = field.fields;
  }
  return undefined;
}

/**
 * The `uniqueTogether` groups, checked against the fields: each path one `groupPathProblem` allows,
 * no path twice in a group, no group twice, not even in another order (`[a, b]` and `[b, a]` are one
 * constraint, which would cost two indexes). Problems are at `uniqueTogether.<group>.<position>`
 * (`uniqueTogether.<group>` for a repeated group).
 */
function uniqueGroupsOf(
  groups: string[][],
  fields: readonly FieldDef[],
  rls: Pick<RlsConfig, "ownerField">,
  owned: boolean,
  ctx: Ctx,
): string[][] {
  const ownerField = owned && rls.ownerField !== "_id" ? rls.ownerField : undefined;
  const seen = new Map<string, number>();
  groups.forEach((group, g) => {
    group.forEach((path, i) => {
      const first = group.indexOf(path);
      const problem =
        first < i
          ? `"${path}" is already in this group (position ${first})`
          : groupPathProblem(path, fields, ownerField);
      if (problem) issue(ctx, ["uniqueTogether", g, i], problem);
    });
    const key = JSON.stringify([...group].sort());
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, g);
    else {
      const message =
        JSON.stringify(group) === JSON.stringify(groups[earlier])
          ? `The same group as uniqueTogether.${earlier}`
          : `The fields of uniqueTogether.${earlier} in another order: the same constraint (give it once)`;
      issue(ctx, ["uniqueTogether", g], message);
    }
  });
  return groups.map((group) => [...group]);
}

/** The types that hold a user id (the server writes the owner's, a 24-hex string, into the owner field). */
const OWNER_TYPES = new Set<FieldType>(["string", "ref", "any"]);
/** The element types of a member list (an owner field declared `array`): each element is a user id. */
const MEMBER_TYPES = new Set<FieldType>(["string", "ref"]);
/** Most members in one member list: its `maxLength` when not declared, and the most it may declare. */
export const MAX_MEMBERS = 100;
const ID_LENGTH = 24;

/**
 * Whether the owner field is a member list: a declared top-level `array` of user ids, each of whom
 * owns the document (shared/rules.ts). Any other owner field holds one id.
 */
export function ownerIsList(def: Pick<CollectionDef, "fields" | "rls">): boolean {
  return def.fields.some((field) => field.name === def.rls.ownerField && field.type === "array");
}

/**
 * A declared owner field must take any user id, or every end-user insert is refused on a field the
 * user never sent: a type that holds no string, an `enum`, or lengths that leave out 24 characters
 * are refused here. (A `pattern` is left to the operator, who may write one that user ids match.)
 * A member list is checked the same way on its `items` (string or ref), and must take a list of one
 * (the creator's, written when an insert leaves it out) and at most MAX_MEMBERS.
 */
function ownerFieldProblems(fields: readonly FieldDef[], ownerField: string, path: PropertyKey[], ctx: Ctx): void {
  const at = fields.findIndex((field) => field.name === ownerField);
  const owner = fields[at];
  if (!owner) return;
  if (owner.type === "array") {
    memberListProblems(owner, [...path, at], ctx);
    return;
  }
  const holds = `The owner field "${ownerField}" holds the owner's user id (a string)`;
  if (!OWNER_TYPES.has(owner.type)) {
    issue(ctx, [...path, at, "type"], `${holds}: its type must be string, ref or any (or array, for a member list)`);
  }
  idProblems(owner, holds, [...path, at], ctx);
}

/** An `enum` or lengths that leave out a 24-character id, on an owner field or a member list's items. */
function idProblems(field: ItemDef, holds: string, path: PropertyKey[], ctx: Ctx): void {
  if (field.enum) issue(ctx, [...path, "enum"], `${holds}: an enum would refuse the users' ids`);
  if ((field.minLength ?? 0) > ID_LENGTH || (field.maxLength ?? ID_LENGTH) < ID_LENGTH) {
    const rule = (field.minLength ?? 0) > ID_LENGTH ? "minLength" : "maxLength";
    issue(ctx, [...path, rule], `${holds}: ids are ${ID_LENGTH} characters long`);
  }
}

function memberListProblems(owner: FieldDef, path: PropertyKey[], ctx: Ctx): void {
  const holds = `The owner field "${owner.name}" is a member list (the user ids of its owners)`;
  if ((owner.minLength ?? 0) > 1) {
    issue(ctx, [...path, "minLength"], `${holds}: it must take one member (an insert without it names its creator)`);
  }
  if (owner.maxLength !== undefined && (owner.maxLength < 1 || owner.maxLength > MAX_MEMBERS)) {
    issue(ctx, [...path, "maxLength"], `${holds}: maxLength must be between 1 and ${MAX_MEMBERS}`);
  }
  if (!owner.items || !MEMBER_TYPES.has(owner.items.type)) {
    issue(ctx, [...path, "items", "type"], `${holds}: its items must be of type string or ref`);
    return;
  }
  idProblems(owner.items, holds, [...path, "items"], ctx);
}

/** The fields with a member list's `maxLength` set to MAX_MEMBERS where the definition leaves it out. */
function withMemberLimit(fields: FieldDef[], ownerField: string): FieldDef[] {
  return fields.map((field) =>
    field.name === ownerField && field.type === "array" && field.maxLength === undefined
      ? { ...field, maxLength: MAX_MEMBERS }
      : field,
  );
}

/** The field types a `publicWhen` value may match: one scalar, compared for equality as stored. */
const PUBLIC_WHEN_TYPES = new Set<FieldType>(["string", "email", "url", "number", "integer", "boolean", "date"]);

/**
 * A `publicWhen` checked against the fields, its values in their stored form (a date as its ISO
 * string). It may name only declared top-level fields that are not private (whether a document is
 * shown would tell a private value) and of a scalar type, each to one value the field takes; and
 * only where documents have owners: it hides a document from everyone but its owner, and an
 * ownerless draft would be no end user's to read or publish.
 */
function publicWhenOf(raw: Record<string, unknown>, fields: readonly FieldDef[], owned: boolean, ctx: Ctx) {
  const at = (key: string, message: string) => issue(ctx, ["rls", "publicWhen", key], message);
  if (!owned) {
    issue(
      ctx,
      ["rls", "publicWhen"],
      'publicWhen needs documents with owners: set rls.enabled (e.g. "mode": "public-read") or an "owner" permission',
    );
  }
  const out: PublicWhen = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = fields.find((f) => f.name === key);
    if (!field) at(key, `"${key}" is not a declared top-level field`);
    else if (field.private) at(key, `"${key}" is private: whether a document shows would tell its value`);
    else if (!PUBLIC_WHEN_TYPES.has(field.type)) {
      at(
        key,
        `"${key}" is a ${field.type} field; publicWhen takes string, number, integer, boolean, date, email or url fields`,
      );
    } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      at(key, "Expected one string, number or boolean value");
    } else {
      const result = valueSchema(field, { additionalFields: true }).safeParse(value);
      if (result.success) out[key] = result.data as string | number | boolean;
      else at(key, `The value does not fit the field: ${result.error.issues[0]?.message}`);
    }
  }
  return out;
}

/** Defaults of object-valued fields re-checked without additional keys (the field-level check allows them). */
function strictDefaultProblems(fields: readonly FieldDef[], path: PropertyKey[], ctx: Ctx): void {
  fields.forEach((field, i) => {
    if (field.default !== undefined) {
      for (const p of defaultProblems(field, false)) issue(ctx, [...path, i, "default", ...p.path], p.message);
    }
    if (field.fields) strictDefaultProblems(field.fields, [...path, i, "fields"], ctx);
    if (field.items?.fields) strictDefaultProblems(field.items.fields, [...path, i, "items", "fields"], ctx);
  });
}

/** The size of a field list: its descriptions (named fields and `items`, at every level) and patterns' RE2 program. */
export interface DefinitionSize {
  fields: number;
  patternProgram: number;
}

/** The RE2 program size of a pattern (what matching it holds in memory); 0 when it does not compile. */
function patternProgram(pattern: string): number {
  try {
    return RE2JS.compile(pattern).programSize();
  } catch {
    return 0;
  }
}

/**
 * Measures a field list, normalized or as a client sent it (anything not shaped like fields is
 * skipped). Stops as soon as a count passes its `limits`: a body far past them costs no more.
 */
export function definitionSize(fields: unknown, limits: Partial<DefinitionSize> = {}): DefinitionSize {
  const size: DefinitionSize = { fields: 0, patternProgram: 0 };
  const over = () =>
    size.fields > (limits.fields ?? Number.POSITIVE_INFINITY) ||
    size.patternProgram > (limits.patternProgram ?? Number.POSITIVE_INFINITY);
  const visit = (field: unknown): void => {
    if (!isPlainObject(field) || over()) return;
    size.fields += 1;
    if (typeof field.pattern === "string" && field.pattern.length <= MAX_PATTERN_LENGTH) {
      size.patternProgram += patternProgram(field.pattern);
    }
    if (Array.isArray(field.fields)) for (const child of field.fields) visit(child);
    visit(field.items);
  };
  if (Array.isArray(fields)) for (const field of fields) visit(field);
  return size;
}

const tooLarge = (path: string, message: string) =>
  new ApiError("VALIDATION_FAILED", undefined, { details: [{ path, message }] });

/** Refuses a body with too many fields or too heavy patterns, before any of it is compiled. */
export function assertBounded(body: unknown): void {
  if (!isPlainObject(body)) return;
  for (const key of ["fields", "model"]) {
    const limits = { fields: MAX_TOTAL_FIELDS, patternProgram: MAX_PATTERN_PROGRAM };
    const size = definitionSize(body[key], limits);
    if (size.fields > MAX_TOTAL_FIELDS) {
      throw tooLarge(key, `At most ${MAX_TOTAL_FIELDS} fields in all levels together (an array's items count as one)`);
    }
    if (size.patternProgram > MAX_PATTERN_PROGRAM) {
      throw tooLarge(
        key,
        `The patterns compile to more than ${MAX_PATTERN_PROGRAM} RE2 instructions together (a counted ` +
          "repetition such as .{1000} takes one per count); use fewer or smaller repetitions, or minLength/maxLength",
      );
    }
  }
}

/**
 * Parses a POST/PUT body into a CollectionDef; invalid → 400 VALIDATION_FAILED listing every problem.
 * Its keys and values pass the body checks first (defaults and enums hold documents' values: no
 * `$` keys, no number JSON cannot carry), then the bounds: at most MAX_TOTAL_FIELDS fields and
 * MAX_PATTERN_PROGRAM of patterns (checked before compiling anything), and MAX_DEFINITION_BYTES
 * of JSON once normalized.
 */
export function parseDefinition(body: unknown): CollectionDef {
  assertSafeBody(body);
  assertBounded(body);
  const result = definitionSchema.safeParse(body, { error: requiredWhenMissing });
  if (!result.success)
    throw new ApiError("VALIDATION_FAILED", undefined, { details: issueDetails(result.error.issues) });
  const bytes = new TextEncoder().encode(JSON.stringify(definitionView(result.data))).length;
  if (bytes > MAX_DEFINITION_BYTES) {
    throw tooLarge(
      "",
      `A definition may be at most ${MAX_DEFINITION_BYTES} bytes (64 KiB) of JSON; this one has ${bytes}`,
    );
  }
  return result.data;
}

function viewField(field: ItemDef & { name?: string; key?: string }): Raw {
  const { name, key, type, items, fields, ...rest } = field;
  const out: Raw = name !== undefined || key !== undefined ? { name: name ?? key, type } : { type };
  for (const [prop, value] of Object.entries(rest)) out[prop] = structuredClone(value);
  if (items) out.items = viewField(items);
  if (fields) out.fields = fields.map(viewField);
  return out;
}

/** The response shape of a definition: fields named by `name` (never `key`), the rest as stored. */
export function definitionView(def: CollectionDef): Raw {
  const view: Raw = {
    name: def.name,
    fields: def.fields.map(viewField),
    additionalFields: def.additionalFields,
    rls: def.rls.publicWhen ? { ...def.rls, publicWhen: { ...def.rls.publicWhen } } : { ...def.rls },
    permissions: { ...def.permissions },
  };
  if (def.aggregate) view.aggregate = { ...def.aggregate };
  if (def.uniqueTogether) view.uniqueTogether = def.uniqueTogether.map((group) => [...group]);
  return view;
}

/** A type name as urBackend spells it in its `model`: first letter upper-cased (`string` → `String`). */
const urBackendType = (type: FieldType) => `${type[0]?.toUpperCase()}${type.slice(1)}`;

/** A field (or an array's `items`, which has no name) as urBackend's `model` holds it. */
function urBackendField(field: ItemDef & { name?: string }): Raw {
  const type = urBackendType(field.type);
  const out: Raw =
    field.name === undefined
      ? { type }
      : { key: field.name, type, required: field.required === true, unique: field.unique === true };
  if (field.ref) out.ref = field.ref;
  if (field.items) out.items = urBackendField(field.items);
  if (field.fields) out.fields = field.fields.map(urBackendField);
  return out;
}

/**
 * The fields as urBackend answers them, its `model` (what `@urbackend/sdk` types `getSchema` with):
 * `key`, capitalized `type`, `required`, `unique`, and `ref`, `items`, `fields` when set. The
 * definition's other rules are in `fields` only.
 */
export const urBackendModel = (fields: readonly FieldDef[]): Raw[] => fields.map(urBackendField);

/**
 * The fields of a field's object values, dotted path segments below it: its own `fields`, or those of
 * the objects its arrays hold however deeply they nest (`items.fields`, `items.items.fields`).
 */
export function childFields(field: ItemDef): readonly FieldDef[] | undefined {
  let element: ItemDef | undefined = field;
  while (element && !element.fields) element = element.items;
  return element?.fields;
}

/** What the query parser needs to know about one dotted path. */
export interface FieldPathInfo {
  type: FieldType;
  private: boolean;
  /** Declared `private: false` in so many words (a deliberate publish of a field that was private). */
  published?: true;
  itemType?: FieldType;
}

/**
 * Every declared path in dot notation: nested object fields (`meta.lang`) and fields of objects
 * inside arrays, nested arrays too (`comments.text`, as MongoDB matches them). A field under a private one is private.
 * System fields and an undeclared rls owner field are not listed.
 */
export function fieldPaths(def: CollectionDef): Map<string, FieldPathInfo> {
  const paths = new Map<string, FieldPathInfo>();
  const visit = (fields: readonly FieldDef[], prefix: string, parentPrivate: boolean) => {
    for (const field of fields) {
      const path = prefix + field.name;
      const hidden = parentPrivate || field.private === true;
      const info: FieldPathInfo = { type: field.type, private: hidden };
      if (field.private === false) info.published = true;
      if (field.type === "array" && field.items) info.itemType = field.items.type;
      paths.set(path, info);
      const children = childFields(field);
      if (children) visit(children, `${path}.`, hidden);
    }
  };
  visit(def.fields, "", false);
  return paths;
}

/** The private paths not under another private path (`bio.phone`, `links.secret`), from `fieldPaths`. */
export function outermostPrivatePaths(paths: ReadonlyMap<string, FieldPathInfo>): string[] {
  const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf(".")));
  return [...paths].filter(([path, info]) => info.private && !paths.get(parentOf(path))?.private).map(([path]) => path);
}

/** Fields that need a database index: `unique` ones and `index: true` ones (dotted for nested objects). */
export function indexedFields(def: CollectionDef): Array<{ field: string; unique: boolean }> {
  const out: Array<{ field: string; unique: boolean }> = [];
  const visit = (fields: readonly FieldDef[], prefix: string) => {
    for (const field of fields) {
      const path = prefix + field.name;
      if (field.unique || field.index) out.push({ field: path, unique: field.unique === true });
      if (field.type === "object" && field.fields) visit(field.fields, `${path}.`);
    }
  };
  visit(def.fields, "");
  return out;
}
