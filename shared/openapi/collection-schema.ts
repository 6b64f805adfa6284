/**
 * A collection definition (API.md §4.1) as JSON Schema (2020-12, OpenAPI 3.1's dialect), in the
 * three shapes the data API uses: a document as answered, an insert (or PUT) body, a PATCH body.
 * They say what the validators in shared/schema/value-schema.ts accept and what the routes answer.
 * A publishable key's bodies leave out the readonly fields, its documents mark them `readOnly`: a pk
 * body may carry one only unchanged (readonly-values.ts), which writes nothing and which no schema
 * can say, and listing them would offer them to generated clients as writable.
 */
import { type CollectionDef, type FieldDef, type ItemDef, ownerIsList, SYSTEM_FIELDS } from "../schema/definition.js";
import { createdByPrivate, publicDefault } from "../schema/private-values.js";
import { ID_SCHEMA } from "./common.js";

export type JsonSchema = Record<string, unknown>;

/** How the schemas are read: a document as stored and answered, or a body as written. */
type Mode = "read" | "write";

const ID = { type: "string", pattern: "^[0-9a-fA-F]{24}$" } as const;
const TIMESTAMP = { type: "string", format: "date-time" } as const;

/** The value also takes `null`, which a body sends for "no value" (the default applies, or PATCH removes it). */
export function orNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === "string" && schema.enum === undefined) return { ...schema, type: [schema.type, "null"] };
  return { anyOf: [schema, { type: "null" }] };
}

/** The bounds a field declares, under JSON Schema's names. */
function bounds(spec: ItemDef): JsonSchema {
  const out: JsonSchema = {};
  const isArray = spec.type === "array";
  if (spec.min !== undefined) out.minimum = spec.min;
  if (spec.max !== undefined) out.maximum = spec.max;
  if (spec.minLength !== undefined) out[isArray ? "minItems" : "minLength"] = spec.minLength;
  if (spec.maxLength !== undefined) out[isArray ? "maxItems" : "maxLength"] = spec.maxLength;
  if (spec.pattern !== undefined) out.pattern = spec.pattern;
  return out;
}

/** How a schema is built: a document or a body, the definition's `additionalFields`, for which key. */
interface Shape {
  mode: Mode;
  additional: boolean;
  secret: boolean;
  /** Whether a pk body may carry the private fields it is not shown (data writes may; auth's may not). */
  privateWritable: boolean;
}

/**
 * Said of a pk body where private fields were left out: a pk data write may carry them
 * (docs/choices.md), and must carry a required one, but the pk document never names them.
 */
const UNLISTED_FIELDS = "Fields not listed here may be accepted, or required, by the API";

/** The schema with `note` added to its description. */
function described(schema: JsonSchema, note: string): JsonSchema {
  return { ...schema, description: schema.description ? `${schema.description}. ${note}` : note };
}

function typeSchema(spec: ItemDef, shape: Shape): JsonSchema {
  switch (spec.type) {
    case "string":
    case "number":
    case "integer":
    case "boolean":
      return { type: spec.type };
    case "email":
      return { type: "string", format: "email" };
    case "url":
      return { type: "string", format: "uri", description: "An http or https URL" };
    case "date":
      // Stored and answered as an ISO string; a body may also give a date alone, an offset, or epoch ms.
      return shape.mode === "read"
        ? { ...TIMESTAMP }
        : { type: ["string", "number"], description: "An ISO 8601 date or date-time, or epoch milliseconds" };
    case "ref":
      return { ...ID, description: `The id of a document in ${JSON.stringify(spec.ref ?? "another collection")}` };
    case "array":
      return spec.items ? { type: "array", items: valueSchema(spec.items, shape) } : { type: "array" };
    case "object":
      return spec.fields && spec.fields.length > 0
        ? objectSchema(spec.fields, shape)
        : { type: "object", additionalProperties: true };
    default:
      return {};
  }
}

/** One value: its type, bounds and `enum`. */
function valueSchema(spec: ItemDef, shape: Shape): JsonSchema {
  const out: JsonSchema = { ...typeSchema(spec, shape), ...bounds(spec) };
  if (spec.enum) out.enum = structuredClone(spec.enum);
  return out;
}

/** Whether a body must carry the field: required, with no default to stand in. */
const mustSend = (field: FieldDef) => field.required === true && field.default == null;

/**
 * A field of an object as a body writes it: it may be `null` (no value) unless it must be sent. Its
 * default is said in the description, not as `default`: generators (openapi-typescript) make a
 * property with a `default` required, and a body may leave it out.
 */
function bodyProperty(field: FieldDef, shape: Shape): JsonSchema {
  const value = valueSchema(field, shape);
  const property = mustSend(field) ? value : orNull(value);
  if (field.default == null) return property;
  const shown = shape.secret ? field.default : publicDefault(field);
  return described(property, `Default: ${JSON.stringify(shown)}`);
}

/** The fields the key sees: a publishable key never sees private ones. */
const shownFields = (fields: readonly FieldDef[], secret: boolean) =>
  secret ? fields : fields.filter((field) => !field.private);

/** The fields a body of the key lists: those it sees, and with a publishable key not the readonly ones (it may not change them). */
const writableFields = (fields: readonly FieldDef[], secret: boolean) =>
  secret ? fields : shownFields(fields, secret).filter((field) => !field.readonly);

/** A field of a document: `readOnly` where the key may not write it (a publishable key, a readonly field). */
function documentProperty(field: FieldDef, shape: Shape): JsonSchema {
  const value = valueSchema(field, shape);
  return field.readonly && !shape.secret ? { ...value, readOnly: true } : value;
}

/**
 * An object with declared fields. Read: the required fields are present (a defaulted one is not: a
 * document written before the field was added lacks it). Write: as objectSchema of value-schema.ts
 * takes it. Where pk is not shown a level's private fields it may write, its bodies take fields not listed.
 */
function objectSchema(declared: readonly FieldDef[], shape: Shape): JsonSchema {
  const write = shape.mode === "write";
  const fields = write ? writableFields(declared, shape.secret) : shownFields(declared, shape.secret);
  // A private field pk may write but is not shown; a readonly one it may not write (additionalProperties says so).
  const hidesFields =
    write && shape.privateWritable && !shape.secret && declared.some((field) => field.private && !field.readonly);
  const properties = Object.fromEntries(
    fields.map((field) => [field.name, write ? bodyProperty(field, shape) : documentProperty(field, shape)]),
  );
  const required = fields.filter((field) => (write ? mustSend(field) : field.required === true));
  return {
    type: "object",
    ...(hidesFields ? { description: UNLISTED_FIELDS } : {}),
    properties,
    ...(required.length > 0 ? { required: required.map((field) => field.name) } : {}),
    additionalProperties: shape.additional || hidesFields,
  };
}

/** The collection's JSON Schemas as one kind of key sees them. */
export interface CollectionSchemas {
  /** A document as the API answers it: the declared fields, the system fields, the owner field. */
  document: JsonSchema;
  /** A POST or PUT body: no system fields; what an insert requires. */
  insert: JsonSchema;
  /** A PATCH body: every field optional; `null` removes an optional one. */
  patch: JsonSchema;
}

/**
 * The declared fields, with the owner field the server writes when the definition does not declare
 * it (as compileValidators adds it).
 */
function withOwnerField(def: CollectionDef): readonly FieldDef[] {
  const owner = def.rls.ownerField;
  const owned = def.rls.enabled || Object.values(def.permissions).includes("owner");
  const declared = def.fields.some((field) => field.name === owner);
  return owned && !declared && !SYSTEM_FIELDS.includes(owner)
    ? [...def.fields, { name: owner, type: "string" }]
    : def.fields;
}

/**
 * A collection definition → the JSON Schemas of its documents and bodies, for a secret or a
 * publishable key; `privateWritable`: whether a pk body may carry private fields.
 */
export function collectionSchemas(
  def: CollectionDef,
  secret: boolean,
  { privateWritable = true } = {},
): CollectionSchemas {
  const fields = withOwnerField(def);
  const additional = def.additionalFields;
  const stored = objectSchema(fields, { mode: "read", additional, secret, privateWritable });
  const system: Record<string, JsonSchema> = {
    _id: { ...ID, description: "The document's id (an ObjectId as 24 hex characters)" },
    createdAt: { ...TIMESTAMP },
    updatedAt: { ...TIMESTAMP },
  };
  // `createdBy` names the end user who wrote it; hidden from pk callers where the owner field is private.
  if (secret || !createdByPrivate(def)) system.createdBy = { ...ID, description: "The end user who created it" };
  const document = {
    ...stored,
    properties: { ...system, ...(stored.properties as JsonSchema) },
    required: ["_id", "createdAt", "updatedAt", ...((stored.required as string[] | undefined) ?? [])],
  };
  const write: Shape = { mode: "write", additional, secret, privateWritable };
  const insert = objectSchema(fields, write);
  const patch = { ...insert };
  delete patch.required;
  // A PATCH names fields one by one: only an optional one may be removed with null, and no default
  // applies to the fields it names (inside an object it replaces, the object's defaults do).
  patch.properties = Object.fromEntries(
    writableFields(fields, secret).map((field) => {
      const value = valueSchema(field, write);
      return [field.name, field.required ? value : orNull(value)];
    }),
  );
  if (ownerIsList(def)) {
    const owner = def.rls.ownerField;
    memberList(document, owner, secret ? MEMBERS : MEMBERS_FOR_PK, false);
    for (const body of [insert, patch]) memberList(body, owner, secret ? MEMBERS : PK_BODY, !secret);
  }
  const groups = def.uniqueTogether ?? [];
  if (groups.length === 0) return { document, insert, patch };
  const note = uniqueTogetherNote(groups);
  return { document: described(document, note), insert: described(insert, note), patch: described(patch, note) };
}

const MEMBERS = "The members: the user ids that own the document (a member list, docs/choices.md)";
const MEMBERS_FOR_PK = `${MEMBERS}; a publishable-key PUT or PATCH may send it only unchanged (the secret key changes it)`;
const PK_BODY =
  `${MEMBERS}. An insert without it names the caller alone; one with it must name the caller, each id once. ` +
  "A PUT or PATCH may send it only unchanged: members change through the secret key";

/**
 * Marks the member list among a schema's properties (in place): described, and in a publishable
 * key's bodies a list of distinct user ids (what ownedInsert takes; the secret key writes what the
 * definition allows, so its documents and bodies keep the declared items).
 */
function memberList(schema: JsonSchema, owner: string, note: string, pkBody: boolean): void {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const property = properties?.[owner];
  if (!properties || !property) return;
  const ids = (value: JsonSchema): JsonSchema =>
    value.type === "null" ? value : { ...value, items: { ...ID_SCHEMA }, uniqueItems: true };
  const anyOf = property.anyOf;
  const marked = !pkBody ? property : Array.isArray(anyOf) ? { ...property, anyOf: anyOf.map(ids) } : ids(property);
  properties[owner] = described(marked, note);
}

/** Says the `uniqueTogether` groups, which JSON Schema cannot express. */
function uniqueTogetherNote(groups: readonly string[][]): string {
  const listed = groups.map((group) => `(${group.join(", ")})`).join("; ");
  return `Unique together: ${listed}. No two documents that have every field of a group hold the same values in all of them: a write that would is 409 DUPLICATE_VALUE`;
}
