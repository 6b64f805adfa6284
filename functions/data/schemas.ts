import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { assertAuthFieldsDeclarable } from "../../shared/auth/profile.js";
import { authSettingsOf } from "../../shared/auth/settings.js";
import type { CollectionEntry } from "../../shared/collections.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { ok, publicBaseUrl, readJson } from "../../shared/http.js";
import { openApiDocument } from "../../shared/openapi/document.js";
import { MAX_OPENAPI_BYTES, servedDocuments } from "../../shared/openapi/served-documents.js";
import type { KeyType, ResolvedProject } from "../../shared/principal.js";
import { countedCollectionBytes, releaseDocumentBytes } from "../../shared/quotas.js";
import { isPlainObject } from "../../shared/sanitize.js";
import { type CollectionDef, definitionView, parseDefinition, urBackendModel } from "../../shared/schema/definition.js";
import { fieldsWritten, mergeDefinition } from "../../shared/schema/merge-definition.js";
import { isUsersCollection, parseCollectionName, USERS } from "../../shared/schema/names.js";
import { publicFields } from "../../shared/schema/private-values.js";
import type { Collection } from "../../shared/store/types.js";
import { projectAllowsAggregates } from "./aggregate.js";

/**
 * `users` exists in every project (API.md §4): until its profile fields are defined it stands as an
 * empty definition that accepts any profile field (what the auth function does without one). It is
 * never stored: no version, no timestamps.
 */
const USERS_UNDEFINED: CollectionEntry = {
  def: parseDefinition({ name: USERS }),
  version: 0,
  revision: "none",
  view: "",
  implicit: true,
  createdAt: "",
  updatedAt: "",
};

/** The stored definition, the stand-in for `users`, or null. */
async function definitionOf(deps: Deps, project: ResolvedProject, name: string): Promise<CollectionEntry | null> {
  return (await deps.collections.get(project, name)) ?? (isUsersCollection(name) ? USERS_UNDEFINED : null);
}

/** Every definition of the project, `users` among them (stored, or its stand-in), by name. */
async function everyDefinition(deps: Deps, project: ResolvedProject): Promise<CollectionEntry[]> {
  const entries = await deps.collections.list(project);
  if (!entries.some((entry) => isUsersCollection(entry.def.name))) {
    entries.push(USERS_UNDEFINED);
    entries.sort((a, b) => (a.def.name < b.def.name ? -1 : 1));
  }
  return entries;
}

/**
 * Stores a changed definition, made by `change` from the stored one (again from a fresher one when
 * another change got in first); `users` gets its first stored definition this way.
 */
async function store(
  deps: Deps,
  project: ResolvedProject,
  name: string,
  change: (stored: CollectionDef) => CollectionDef,
): Promise<CollectionEntry> {
  const entry = await deps.collections.replace(project, name, change);
  if (entry) return entry;
  if (!isUsersCollection(name)) throw new ApiError("COLLECTION_NOT_FOUND");
  try {
    return await deps.collections.create(project, change(USERS_UNDEFINED.def));
  } catch (error) {
    // Defined meanwhile by another request: this change goes onto that definition.
    if (!(error instanceof ApiError && error.code === "COLLECTION_EXISTS")) throw error;
    const again = await deps.collections.replace(project, name, change);
    if (again) return again;
    throw error;
  }
}

/** What a key may see of a definition: pk callers do not see private fields. */
function view(entry: CollectionEntry, keyType: KeyType) {
  const def: CollectionDef =
    keyType === "secret" ? entry.def : { ...entry.def, fields: publicFields(entry.def.fields) };
  return {
    ...definitionView(def),
    model: urBackendModel(def.fields),
    implicit: entry.implicit,
    createdAt: entry.createdAt || null,
    updatedAt: entry.updatedAt || null,
  };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A write body as written, also when it is a definition answer sent back (GET, edit, PUT): the
 * answer-only keys (`implicit`, `createdAt`, `updatedAt`) are dropped, and so is `model`, which
 * answers carry next to `fields`, when it is still as answered (for the current fields, or for the
 * `fields` given). An edited `model` next to `fields` stays, for the parser to refuse: `model` holds
 * fewer rules than `fields` (no `private`, no bounds), so taking it would drop the others.
 */
function asWritten(body: unknown, current?: CollectionDef): unknown {
  if (!isPlainObject(body)) return body;
  const { implicit, createdAt, updatedAt, ...written } = body;
  if (written.fields === undefined || written.model === undefined) return written;
  const { model, ...withFields } = written;
  try {
    if (current && sameJson(model, urBackendModel(current.fields))) return withFields;
    const given = parseDefinition({ ...withFields, name: current?.name ?? withFields.name });
    if (sameJson(model, urBackendModel(given.fields))) return withFields;
  } catch {
    // the parser answers for it below (fields it refuses, a model too deep to compare)
  }
  return written;
}

function requireSecret(keyType: KeyType): void {
  if (keyType !== "secret") throw new ApiError("WRITE_BLOCKED");
}

/** The schema routes of the data function (API.md §4.1), mounted under /api/schemas. */
export function schemaRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const documents = servedDocuments();

  routes.get("/", async (c) => {
    const { project, keyType } = c.get("principal");
    const entries = await everyDefinition(deps, project);
    return ok(c, { collections: entries.map((entry) => view(entry, keyType)) });
  });

  // Before "/:name", which would take "openapi.json" for a collection name. Tools read the document
  // itself, so it is not wrapped in the envelope; errors are.
  routes.get("/openapi.json", async (c) => {
    const { project, keyType } = c.get("principal");
    const entries = await everyDefinition(deps, project);
    const { passwordMinLength, requireEmailVerification } = authSettingsOf(project);
    const input = {
      projectName: project.name,
      secret: keyType === "secret",
      auth: { passwordMinLength, requireEmailVerification },
      publishableAggregate: projectAllowsAggregates(project),
    };
    // Everything the document is built from: the definitions by their revisions. Not the base URL,
    // which (without PUBLIC_URL) comes from the request's Host: any caller could make every request
    // build anew. The kept text has no `servers`; each answer puts its own first.
    const fingerprint = [project.id, input, entries.map((entry) => [entry.def.name, entry.revision])];
    const served = documents.get(fingerprint, () => {
      const { servers, ...document } = openApiDocument({
        ...input,
        baseUrl: "",
        collections: entries.map((entry) => entry.def),
      });
      return document;
    });
    if (!served) {
      throw new ApiError(
        "PAYLOAD_TOO_LARGE",
        `The project's OpenAPI document would pass ${MAX_OPENAPI_BYTES / 1e6} MB, the most this endpoint answers; ` +
          "it grows with the collection definitions (GET /api/schemas lists them)",
      );
    }
    const servers = JSON.stringify([{ url: publicBaseUrl(c, deps.config) }]);
    return c.body(`{"servers":${servers},${served.text.slice(1)}`, 200, { "content-type": "application/json" });
  });

  routes.get("/:name", async (c) => {
    const { project, keyType } = c.get("principal");
    const entry = await definitionOf(deps, project, parseCollectionName(c.req.param("name")));
    if (!entry) throw new ApiError("COLLECTION_NOT_FOUND");
    return ok(c, { collection: view(entry, keyType) });
  });

  routes.post("/", async (c) => {
    const { project, keyType } = c.get("principal");
    requireSecret(keyType);
    const def = parseDefinition(asWritten(await readJson(c)));
    if (isUsersCollection(def.name)) assertAuthFieldsDeclarable(def.fields);
    const entry = await deps.collections.create(project, def);
    return ok(c, { collection: view(entry, keyType) }, 201);
  });

  routes.put("/:name", async (c) => {
    const { project, keyType } = c.get("principal");
    requireSecret(keyType);
    const name = parseCollectionName(c.req.param("name"));
    const current = await definitionOf(deps, project, name);
    if (!current) throw new ApiError("COLLECTION_NOT_FOUND");
    const body = asWritten(await readJson(c), current.def);
    if (isPlainObject(body) && body.name !== undefined && body.name !== name) {
      throw new ApiError("VALIDATION_FAILED", undefined, {
        details: [{ path: "name", message: "A collection cannot be renamed" }],
      });
    }
    const def = parseDefinition(isPlainObject(body) ? { ...body, name } : body);
    if (isUsersCollection(name)) assertAuthFieldsDeclarable(def.fields);
    return ok(c, { collection: view(await store(deps, project, name, () => def), keyType) });
  });

  routes.patch("/:name", async (c) => {
    const { project, keyType } = c.get("principal");
    requireSecret(keyType);
    const name = parseCollectionName(c.req.param("name"));
    const current = await definitionOf(deps, project, name);
    if (!current) throw new ApiError("COLLECTION_NOT_FOUND");
    const body = await readJson(c);
    // Merged onto what is stored when the change is made (not onto `current`, which may be older).
    // Fields it does not name stay as stored, also rules on auth's fields from before they were refused.
    const entry = await store(deps, project, name, (stored) => {
      const patch = asWritten(body, stored);
      const def = mergeDefinition(stored, patch);
      const written = isUsersCollection(name) ? fieldsWritten(patch) : undefined;
      if (written) assertAuthFieldsDeclarable(written.fields, written.key);
      return def;
    });
    return ok(c, { collection: view(entry, keyType) });
  });

  routes.delete("/:name", async (c) => {
    const { project, keyType } = c.get("principal");
    requireSecret(keyType);
    const name = parseCollectionName(c.req.param("name"));
    // Deleting the `users` definition takes back its profile fields; `users` itself stays.
    let bytes = 0;
    const measure = async (collection: Collection) => {
      bytes = await countedCollectionBytes(deps, project, collection);
    };
    if (!(await deps.collections.remove(project, name, measure)) && !isUsersCollection(name)) {
      throw new ApiError("COLLECTION_NOT_FOUND");
    }
    if (bytes > 0) await releaseDocumentBytes(deps, project, bytes); // its documents no longer count
    return ok(c, { name, deleted: true });
  });

  return routes;
}
