/**
 * PATCH /api/schemas/:name (API.md §4.1): a partial definition applied to the current one. Fields
 * merge by name, so a PATCH that names one field leaves the others as they are ("PATCH merges").
 */
import { z } from "zod";
import { ApiError, type ErrorDetail } from "../errors.js";
import { requiredWhenMissing } from "../http.js";
import { assertSafeBody, foldName, isPlainObject } from "../sanitize.js";
import {
  assertBounded,
  type CollectionDef,
  definitionView,
  type FieldDef,
  parseDefinition,
  topLevelFieldSchema,
} from "./definition.js";
import { issueDetails } from "./value-schema.js";

type Raw = Record<string, unknown>;
type FieldListKey = "fields" | "model";
/** A field as stored (its view) or as a PATCH gives it. */
type Named = { readonly name?: unknown };

/** One entry of a PATCH's field list: a field to put in place of the one of its name (or append), or a removal. */
type FieldChange = { field: FieldDef } | { remove: string };

/** `{"name": "price", "remove": true}` (or `key`): the one entry that takes a field out. */
const removalSchema = z.strictObject({
  name: z.string().optional(),
  key: z.string().optional(),
  remove: z.literal(true, "remove takes true only (leave a field out of the list to keep it)"),
});

/** A parsed removal entry as a change, or what is wrong with its name (any declared name may go, even one no longer allowed). */
function removal(entry: z.output<typeof removalSchema>): FieldChange | string {
  if (entry.name !== undefined && entry.key !== undefined && entry.name !== entry.key) return "key and name differ";
  const name = entry.name ?? entry.key;
  return name === undefined ? "Required" : { remove: name };
}

const refused = (details: ErrorDetail[]) => new ApiError("VALIDATION_FAILED", undefined, { details });
const at = (key: FieldListKey, i: number, path = "") => [key, i, ...(path ? [path] : [])].join(".");

/** The field list a PATCH gives, under `fields` or urBackend's `model`; undefined when it gives none. */
function fieldListKey(patch: Raw): FieldListKey | undefined {
  if (patch.fields !== undefined && patch.model !== undefined) {
    throw refused([{ path: "model", message: "Give fields or model, not both" }]);
  }
  if (patch.fields !== undefined) return "fields";
  return patch.model !== undefined ? "model" : undefined;
}

/**
 * A PATCH's field list, each entry checked on its own (problems at its position in the list): a
 * field as a definition declares it, or a removal; no name twice. `null` is refused rather than
 * taken as "no fields": it would drop every field, the very loss PATCH must not cause silently.
 */
function fieldChanges(patch: Raw, key: FieldListKey): FieldChange[] {
  const list = patch[key];
  if (list === null) {
    throw refused([
      {
        path: key,
        message: `PATCH merges ${key} by name; remove one with {"name": "…", "remove": true}, or PUT the definition to replace them all`,
      },
    ]);
  }
  if (!Array.isArray(list)) throw refused([{ path: key, message: "Expected an array" }]);
  assertSafeBody(patch);
  assertBounded(patch); // before anything is compiled, as for a whole definition
  const details: ErrorDetail[] = [];
  const seen = new Map<string, number>();
  const changes = list.map((entry, i): FieldChange | undefined => {
    const inList = (path: string, message: string) => {
      details.push({ path: at(key, i, path), message });
      return undefined;
    };
    const removes = isPlainObject(entry) && entry.remove !== undefined;
    const result = (removes ? removalSchema : topLevelFieldSchema).safeParse(entry, { error: requiredWhenMissing });
    if (!result.success) {
      for (const detail of issueDetails(result.error.issues)) inList(detail.path, detail.message);
      return undefined;
    }
    const change: FieldChange | string = "type" in result.data ? { field: result.data } : removal(result.data);
    if (typeof change === "string") return inList(change === "Required" ? "name" : "key", change);
    const name = "field" in change ? change.field.name : change.remove;
    const first = seen.get(foldName(name));
    if (first !== undefined) return inList("name", `Duplicate field name "${name}" (same as field ${first})`);
    seen.set(foldName(name), i);
    return change;
  });
  if (details.length > 0) throw refused(details);
  return changes as FieldChange[];
}

/**
 * The stored fields with the changes applied: a field named in the PATCH replaces the one of that
 * name whole (its nested `fields` or `items` too), a new name is appended, a removal takes its field
 * out, and the fields not named stay as they are, in their order. Names match exactly: one that
 * only looks like a declared name (`Price` for `price`) is refused, never taken as another field.
 */
function mergeFields(stored: readonly Named[], changes: readonly FieldChange[], key: FieldListKey): Named[] {
  const merged: Named[] = [...stored];
  const details: ErrorDetail[] = [];
  changes.forEach((change, i) => {
    const name = "remove" in change ? change.remove : change.field.name;
    const found = merged.findIndex((field) => field.name === name);
    const lookalike = merged.find((field) => foldName(String(field.name)) === foldName(name));
    if (found === -1 && lookalike) {
      const message = `"${name}" looks like the field "${lookalike.name}": a PATCH names a field exactly as declared`;
      details.push({ path: at(key, i, "name"), message });
    } else if ("remove" in change) {
      if (found === -1) details.push({ path: at(key, i, "name"), message: `No field "${name}" to remove` });
      else merged.splice(found, 1);
    } else if (found === -1) merged.push(change.field);
    else merged[found] = change.field;
  });
  if (details.length > 0) throw refused(details);
  return merged;
}

/**
 * The fields a PATCH body writes, at their positions in its list (a removal writes none), and the
 * key of that list; undefined when it gives no fields. Rules on fields it does not name are not its own.
 */
export function fieldsWritten(patch: unknown): { key: FieldListKey; fields: Array<FieldDef | undefined> } | undefined {
  if (!isPlainObject(patch)) return undefined;
  const key = fieldListKey(patch);
  if (!key) return undefined;
  return { key, fields: fieldChanges(patch, key).map((change) => ("field" in change ? change.field : undefined)) };
}

/**
 * PATCH: applies a partial definition to the current one. `fields` (or `model`) merge by name (see
 * `mergeFields`); `rls` and `aggregate` merge key by key; `permissions` merge per operation (a `null`
 * removes that override, back to the rls default); roles not mentioned are kept.
 * `additionalFields` is kept unless given, except that declaring fields on a collection that had
 * none applies the declared-fields default (false), and removing the last one the default of a
 * collection without fields (true), as PUT would. The result is re-validated as a whole.
 */
export function mergeDefinition(current: CollectionDef, patch: unknown): CollectionDef {
  if (!isPlainObject(patch)) {
    throw new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: "", message: "Expected an object" }] });
  }
  if (patch.name !== undefined && patch.name !== current.name) {
    throw new ApiError("VALIDATION_FAILED", undefined, {
      details: [{ path: "name", message: "A collection cannot be renamed" }],
    });
  }
  const merged: Raw = { ...definitionView(current) };
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (key === "permissions" && isPlainObject(value)) {
      const permissions: Raw = { ...current.permissions };
      for (const op of Object.keys(value)) {
        if (value[op] === null) delete permissions[op];
        else permissions[op] = value[op];
      }
      merged.permissions = permissions;
    } else if ((key === "rls" || key === "aggregate") && isPlainObject(value) && isPlainObject(merged[key])) {
      merged[key] = { ...(merged[key] as Raw), ...value };
    } else if (key !== "name" && key !== "fields" && key !== "model") {
      merged[key] = value;
    }
  }
  const listKey = fieldListKey(patch);
  if (listKey) merged.fields = mergeFields(merged.fields as Named[], fieldChanges(patch, listKey), listKey);
  // Fields declared where there were none, or the last one removed: that case's default applies, as with PUT.
  const hadFields = current.fields.length > 0;
  const hasFields = (merged.fields as Named[]).length > 0;
  if (patch.additionalFields === undefined && hasFields !== hadFields) delete merged.additionalFields;
  return parseDefinition(merged);
}
