/**
 * `populate` / `expand` (urBackend's SDK sends them): ref fields of an answer whose ids become the
 * documents they name, read as the caller may read them in their own collection (its read rule,
 * owners and private fields). A single ref the caller may not read, or that is gone, becomes null;
 * such ids are left out of an array of refs (as Mongoose's populate does). A ref to `users` becomes
 * the account's public profile (as /api/userAuth/public/:username shows it; none without a username).
 * A ref to a collection that does not exist (yet) becomes null. Top-level ref fields only.
 */
import { MAX_AGGREGATE_BYTES } from "../../shared/aggregate.js";
import { profileSchema } from "../../shared/auth/profile.js";
import { authSettingsOf } from "../../shared/auth/settings.js";
import { publicProfile } from "../../shared/auth/users.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { isId } from "../../shared/ids.js";
import { jsonBytesWithin } from "../../shared/json-bytes.js";
import { invalidQuery } from "../../shared/query/fail.js";
import { authorize, type Caller, readFilter } from "../../shared/rules.js";
import type { CollectionDef } from "../../shared/schema/definition.js";
import { isUsersCollection, looksLikeUsers, USERS } from "../../shared/schema/names.js";
import type { Collection, Doc, Filter } from "../../shared/store/types.js";
import type { Ctx } from "./target.js";
import { and } from "./target.js";

/** Most ref fields one request may populate, and most distinct ids one field may name on a page. */
const MAX_POPULATED = 10;
const MAX_POPULATED_IDS = 1000;
/**
 * Most JSON the populated documents may add to one answer, every occurrence counted (an array that
 * names one large document 5000 times would otherwise answer 250 MB): the aggregate answer's bound.
 */
const MAX_POPULATED_BYTES = MAX_AGGREGATE_BYTES;

interface RefField {
  name: string;
  collection: string;
  many: boolean;
}

/** The ref fields a request asks to populate; a name that is not a top-level ref field is 400 INVALID_QUERY. */
export function populatedFields(params: URLSearchParams, def: CollectionDef): RefField[] {
  const names = new Set(
    ["populate", "expand"]
      .flatMap((param) => params.getAll(param))
      .flatMap((value) => value.split(","))
      .map((name) => name.trim())
      .filter(Boolean),
  );
  if (names.size > MAX_POPULATED) throw invalidQuery("populate", `at most ${MAX_POPULATED} fields`);
  return [...names].map((name) => {
    const field = def.fields.find((f) => f.name === name);
    const many = field?.type === "array";
    const collection = many ? field?.items?.type === "ref" && field.items.ref : field?.type === "ref" && field.ref;
    if (!collection)
      throw invalidQuery("populate", `"${name}" is not a ref field (with its collection) of this collection`);
    return { name, collection, many };
  });
}

/** The documents with their ref fields populated (copies; `docs` as they are when nothing is asked). */
export async function populate(
  deps: Deps,
  c: Ctx,
  caller: Caller,
  docs: Record<string, unknown>[],
  fields: RefField[],
): Promise<Record<string, unknown>[]> {
  if (fields.length === 0) return docs;
  const out = docs.map((doc) => ({ ...doc }));
  let added = 0;
  const take = (found: Map<string, Readable>, id: string) => {
    const entry = found.get(id);
    added += entry?.bytes ?? 0;
    if (added > MAX_POPULATED_BYTES) throw tooLarge();
    return entry?.doc;
  };
  for (const field of fields) {
    // The ids placed below, and only those: every document read is placed at least once.
    const named = out.flatMap((doc) => {
      const value = doc[field.name];
      return field.many ? (Array.isArray(value) ? value : []) : [value];
    });
    const ids = new Set(named.filter((id): id is string => typeof id === "string" && isId(id)));
    if (ids.size > MAX_POPULATED_IDS) {
      throw invalidQuery("populate", `"${field.name}" names more than ${MAX_POPULATED_IDS} documents on this page`);
    }
    const found = await readable(deps, c, caller, field.collection, [...ids], MAX_POPULATED_BYTES - added);
    for (const doc of out) {
      const value = doc[field.name];
      if (field.many && Array.isArray(value)) {
        doc[field.name] = value.flatMap((id) => (typeof id === "string" && found.has(id) ? [take(found, id)] : []));
      } else if (!field.many && typeof value === "string") {
        doc[field.name] = take(found, value) ?? null;
      }
    }
  }
  return out;
}

/** A referenced document as the caller may see it, and the size of its JSON. */
interface Readable {
  doc: Record<string, unknown>;
  bytes: number;
}

const tooLarge = () =>
  invalidQuery(
    "populate",
    "the populated documents would pass 16 MiB: populate fewer fields, or ask for a smaller limit",
  );

/** Ids read in one query: a refusal comes after at most this many documents past the byte bound. */
const READ_BATCH = 100;

/** Where the documents of a ref's collection are read, which of them the caller may read, and how it sees them. */
interface Source {
  collection: Collection;
  filter(ids: string[]): Filter;
  view(stored: Doc): Record<string, unknown>;
}

/**
 * A ref's collection as the caller may read it; null when it reads nothing (no such collection yet,
 * a read rule that refuses the caller). A ref to `users` reads the accounts as /public/:username
 * shows them (the project's public profile fields, private ones never), to every caller that could
 * read the referencing document, and the same with the secret key: the author of a post is public
 * by the project's own setting, while the account (email, verification, sessions) stays behind
 * /api/userAuth and the admin API.
 */
async function sourceOf(deps: Deps, c: Ctx, caller: Caller, name: string): Promise<Source | null> {
  const { project, keyType } = c.get("principal");
  const byId = (ids: string[]): Filter => ({ _id: { $in: ids } });
  if (isUsersCollection(name)) {
    const fields = authSettingsOf(project).publicProfileFields;
    const profile = await profileSchema(deps, project);
    const collection = deps.collections.database(project).collection(USERS);
    // Only accounts with a username, as /public/:username reaches: no id finds one it cannot.
    const filter = (ids: string[]): Filter => ({ ...byId(ids), username: { $type: "string" } });
    return { collection, filter, view: (stored) => publicProfile(stored, fields, profile) };
  }
  const entry = looksLikeUsers(name) ? null : await deps.collections.get(project, name);
  if (!entry) return null;
  let ownerId: string | null;
  try {
    ownerId = authorize(caller, entry.def, "read");
  } catch (error) {
    if (error instanceof ApiError) return null; // not this caller's to read
    throw error;
  }
  const validators = deps.collections.validators(project, entry);
  return {
    collection: deps.collections.database(project).collection(name),
    filter: (ids) => and(byId(ids), readFilter(entry.def, caller, ownerId)),
    view: (stored) => validators.strip(stored, { isSecretKey: keyType === "secret" }),
  };
}

/**
 * The documents of `name` with these ids that the caller may read, as it may see them, by id; read
 * in batches, and refused (tooLarge) as soon as they pass `maxBytes` together, unread ones unread.
 */
async function readable(deps: Deps, c: Ctx, caller: Caller, name: string, ids: string[], maxBytes: number) {
  const found = new Map<string, Readable>();
  const source = ids.length > 0 ? await sourceOf(deps, c, caller, name) : null;
  if (!source) return found;
  let total = 0;
  for (let at = 0; at < ids.length; at += READ_BATCH) {
    for (const stored of await source.collection.find(source.filter(ids.slice(at, at + READ_BATCH)))) {
      const doc = source.view(stored);
      const bytes = jsonBytesWithin(doc, MAX_POPULATED_BYTES);
      total += bytes;
      if (total > maxBytes) throw tooLarge();
      found.set(String(stored._id), { doc, bytes });
    }
  }
  return found;
}
