/**
 * A collection definition (API.md §4.1) as JSON Schema (2020-12, OpenAPI 3.1's dialect), in the
 * three shapes the data API uses: a document as answered, an insert (or PUT) body, a PATCH body.
 * They say what the validators in shared/schema/value-schema.ts accept and what the routes answer.
 */
import { type CollectionDef, type FieldDef, type ItemDef, SYSTEM_FIELDS } from "../schema/definition.js";
import { createdByPrivate, publicFields } from "../schema/private-values.js";

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

function typeSchema(spec: ItemDef, mode: Mode, additional: boolean): JsonSchema {
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
      return mode === "read"
        ? { ...TIMESTAMP }
        : { type: ["string", "number"], description: "An ISO 8601 date or date-time, or epoch milliseconds" };
    case "ref":
      return { ...ID, description: `The id of a document in ${JSON.stringify(spec.ref ?? "another collection")}` };
    case "array":
      return spec.items ? { type: "array", items: valueSchema(spec.items, mode, additional) } : { type: "array" };
    case "object":
      return spec.fields && spec.fields.length > 0
        ? objectSchema(spec.fields, mode, additional)
        : { type: "object", additionalProperties: true };
    default:
      return {};
  }
}

/** One field's value: its type, bounds and `enum` (and its `default`, in a body). */
function valueSchema(spec: ItemDef, mode: Mode, additional: boolean): JsonSchema {
  const out: JsonSchema = { ...typeSchema(spec, mode, additional), ...bounds(spec) };
  if (spec.enum) out.enum = structuredClone(spec.enum);
  if (mode === "write" && spec.default != null) out.default = structuredClone(spec.default);
  return out;
}

/** Whether a body must carry the field: required, with no default to stand in. */
const mustSend = (field: FieldDef) => field.required === true && field.default == null;

/**
 * An object with declared fields. Read: the required fields are present. Write: as objectSchema of
 * value-schema.ts takes it, a field may be `null` (no value) unless it must be sent.
 */
function objectSchema(fields: readonly FieldDef[], mode: Mode, additional: boolean): JsonSchema {
  const properties = Object.fromEntries(
    fields.map((field) => {
      const value = valueSchema(field, mode, additional);
      return [field.name, mode === "write" && !mustSend(field) ? orNull(value) : value];
    }),
  );
  const required = fields.filter((field) => (mode === "read" ? field.required === true : mustSend(field)));
  return {
    type: "object",
    properties,
    ...(required.length > 0 ? { required: required.map((field) => field.name) } : {}),
    additionalProperties: additional,
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
 * The fields as the key sees them (a publishable key never sees private ones), with the owner field
 * the server writes when the definition does not declare it (as compileValidators adds it).
 */
function visibleFields(def: CollectionDef, secret: boolean): FieldDef[] {
  const fields = secret ? def.fields : publicFields(def.fields);
  const owner = def.rls.ownerField;
  const owned = def.rls.enabled || Object.values(def.permissions).includes("owner");
  const declared = def.fields.some((field) => field.name === owner);
  return owned && !declared && !SYSTEM_FIELDS.includes(owner) ? [...fields, { name: owner, type: "string" }] : fields;
}

/** A collection definition → the JSON Schemas of its documents and bodies, for a secret or a publishable key. */
export function collectionSchemas(def: CollectionDef, secret: boolean): CollectionSchemas {
  const fields = visibleFields(def, secret);
  const additional = def.additionalFields;
  const stored = objectSchema(fields, "read", additional);
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
  const insert = objectSchema(fields, "write", additional);
  const patch = { ...insert };
  delete patch.required;
  // A PATCH names fields one by one: only an optional one may be removed with null.
  patch.properties = Object.fromEntries(
    fields.map((field) => {
      const value = valueSchema(field, "write", additional);
      return [field.name, field.required ? value : orNull(value)];
    }),
  );
  return { document, insert, patch };
}
