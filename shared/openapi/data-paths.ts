/** The data API of one collection (API.md §5) as OpenAPI paths: list, insert, bulk, and one document's routes. */
import { ALLOWED_STAGES, MAX_STAGES } from "../aggregate.js";
import { MAX_BULK } from "../documents.js";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../query/paging.js";
import { RESERVED_PARAMS } from "../query/params-filter.js";
import { type CollectionDef, fieldPaths, indexedFields, type Operation } from "../schema/definition.js";
import type { JsonSchema } from "./collection-schema.js";
import { ID_SCHEMA, jsonBody, jsonResponses, schemaRef, USER_ONLY } from "./common.js";
import { keyAccess } from "./key-access.js";

/** Component names of a collection's schemas (a collection's own name, and with a suffix no other name has). */
export const collectionComponents = (name: string) => ({
  document: name,
  insert: `${name}.insert`,
  patch: `${name}.patch`,
});

const query = (name: string, schema: JsonSchema, description: string) => ({ name, in: "query", schema, description });

/**
 * The paths `filters` names: the top-level fields and the indexed paths the key may filter on. Any
 * declared dotted path works too, but listing every one made the document outgrow the definitions
 * (each path repeats the names above it). Names of list parameters are left out: the API never reads
 * them as filters.
 */
function filterPaths(def: CollectionDef, secret: boolean): string[] {
  const listed = new Set([...def.fields.map((field) => field.name), ...indexedFields(def).map(({ field }) => field)]);
  return [...fieldPaths(def)]
    .filter(([path, info]) => listed.has(path) && (secret || !info.private) && !RESERVED_PARAMS.has(path))
    .map(([path]) => path);
}

/** The list parameters of API.md §5.1. */
function listParameters(def: CollectionDef, secret: boolean) {
  const refs = def.fields
    .filter((field) => (secret || !field.private) && (field.type === "ref" || field.items?.type === "ref"))
    .map((field) => `\`${field.name}\``);
  const text = { type: "string" };
  return [
    query("page", { type: "integer", minimum: 1, default: 1 }, "Page number (offset paging)"),
    query("limit", { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }, "Page size"),
    query("cursor", text, "The `nextCursor` of the previous page (keyset paging, instead of `page`)"),
    query("sort", text, "Comma list of fields, `-field` or `field:desc` descending; default `-createdAt`"),
    query("sortBy", text, "One sort field (with `sortDirection`), instead of `sort`"),
    query("sortDirection", { type: "string", enum: ["asc", "desc"] }, "Direction of `sortBy`"),
    query("filter", text, "URL-encoded Mongo-style JSON filter ($eq $ne $gt $gte $lt $lte $in $nin $exists $regex …)"),
    query("andFilters", text, "Like `filter`"),
    query("orFilters", text, "A JSON filter ORed with the others"),
    query("search", text, "Case-insensitive substring of the `searchFields` (default: every string field)"),
    query("searchFields", text, "Comma list of fields `search` looks in"),
    query("fields", text, "Comma list of fields to answer (alias `select`); `_id` always comes"),
    query("count", { type: "boolean" }, "`true` answers `{count}` only"),
    query(
      "populate",
      text,
      "Comma list of ref fields whose ids become the documents they name (alias `expand`)" +
        (refs.length > 0 ? `; ref fields: ${refs.join(", ")}` : ""),
    ),
    {
      name: "filters",
      in: "query",
      style: "form",
      explode: true,
      schema: {
        type: "object",
        properties: Object.fromEntries(filterPaths(def, secret).map((path) => [path, text])),
        additionalProperties: text,
      },
      description:
        "Filters as query parameters: `field=value` equality, or a suffix operator: " +
        "`field_gt`, `_gte`, `_lt`, `_lte`, `_ne`, `_in` (comma list), `_nin`, `_exists` (true|false), `_regex`. " +
        "Listed: the top-level and indexed fields; any declared dotted path (`meta.lang`) works too. " +
        "A field named like a list parameter (`page`, `count`, `key`, …) is filtered with `filter` instead",
    },
  ];
}

/** Lower case only: a document's id is taken as written, and an upper-case one is 400 INVALID_ID (shared/ids.ts). */
const idParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { ...ID_SCHEMA },
};
const ifMatch = {
  name: "If-Match",
  in: "header",
  schema: { type: "string" },
  description: "The document's ETag: 412 PRECONDITION_FAILED when it changed",
};

const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
  description:
    "A key of the client's (a UUID) naming this insert: a retry with it answers the documents the first attempt made " +
    "(201, `Idempotent-Replayed: true`) instead of inserting again",
};

/** The list answer: a page of documents (API.md §5.1), or `{count}` when `count=true`. */
function listAnswer(document: JsonSchema): JsonSchema {
  const page = {
    type: "object",
    properties: {
      items: { type: "array", items: document },
      total: { type: "integer" },
      page: { type: ["integer", "null"], description: "null when paging by cursor" },
      limit: { type: "integer" },
      totalPages: { type: "integer" },
      hasNext: { type: "boolean" },
      hasPrev: { type: "boolean" },
      nextCursor: { type: ["string", "null"] },
    },
    required: ["items", "total", "page", "limit", "totalPages", "hasNext", "hasPrev", "nextCursor"],
  };
  const count = { type: "object", properties: { count: { type: "integer" } }, required: ["count"] };
  return { anyOf: [page, count] };
}

/** The `POST /aggregate` operation (API.md §5). */
function aggregateOperation(def: CollectionDef, operationId: string) {
  const stage = { type: "object", description: `One stage: ${[...ALLOWED_STAGES].join(", ")}` };
  const pipeline = { type: "array", items: stage, maxItems: MAX_STAGES };
  return {
    tags: [def.name],
    operationId,
    summary: `Aggregate ${def.name} (the read rules apply first)`,
    requestBody: jsonBody({
      anyOf: [{ type: "object", properties: { pipeline }, required: ["pipeline"] }, pipeline],
    }),
    responses: jsonResponses(200, "The pipeline's output", {
      type: "object",
      properties: { items: { type: "array", items: { type: "object" } } },
      required: ["items"],
    }),
  };
}

/** Whether a path item still holds an operation (every other key of one is a method). */
const hasOperations = (item: object) => Object.keys(item).some((key) => key !== "parameters");

/**
 * The paths of one collection, for a secret or a publishable key (`aggregates`: the key may aggregate
 * it). Each operation is offered as the collection's rules let the key perform it: left out where no
 * caller with the key ever may (a generated client would offer a call that is always 403), and
 * needing an end user's token beside the key where the rule asks for a signed-in user or an owner.
 */
export function collectionPaths(def: CollectionDef, secret: boolean, aggregates: boolean): Record<string, unknown> {
  const names = collectionComponents(def.name);
  const document = schemaRef(names.document);
  const tags = [def.name];
  const op = (id: string) => ({ tags, operationId: `data.${def.name}.${id}` });
  /** `{[method]: operation}` as the rule of `rule` lets the key perform it, or nothing. */
  const offered = (method: string, rule: Operation, operation: Record<string, unknown>) => {
    const access = keyAccess(def, secret ? "secret" : "publishable", rule);
    if (access === "never") return {};
    return { [method]: access === "user" ? { ...operation, security: USER_ONLY } : operation };
  };
  const deleted = {
    type: "object",
    properties: { _id: { type: "string" }, id: { type: "string" }, deleted: { const: true } },
    required: ["_id", "id", "deleted"],
  };
  const base = `/api/data/${def.name}`;
  const paths = {
    [base]: {
      ...offered("get", "list", {
        ...op("list"),
        summary: `List ${def.name}`,
        parameters: listParameters(def, secret),
        responses: jsonResponses(200, "A page of documents", listAnswer(document)),
      }),
      ...offered("post", "create", {
        ...op("insert"),
        summary: `Insert into ${def.name}`,
        parameters: [idempotencyKey],
        requestBody: jsonBody(schemaRef(names.insert)),
        responses: jsonResponses(201, "The created document", document),
      }),
    },
    [`${base}/bulk`]: {
      ...offered("post", "create", {
        ...op("bulkInsert"),
        summary: `Insert 1 to ${MAX_BULK} documents into ${def.name}, all or none`,
        parameters: [idempotencyKey],
        requestBody: jsonBody({ type: "array", items: schemaRef(names.insert), minItems: 1, maxItems: MAX_BULK }),
        responses: jsonResponses(201, "The created documents", {
          type: "object",
          properties: { insertedCount: { type: "integer" }, items: { type: "array", items: document } },
          required: ["insertedCount", "items"],
        }),
      }),
    },
    // The route authorizes an aggregate as a list.
    [`${base}/aggregate`]: aggregates
      ? offered("post", "list", aggregateOperation(def, `data.${def.name}.aggregate`))
      : {},
    [`${base}/{id}`]: {
      parameters: [idParameter],
      ...offered("get", "read", {
        ...op("get"),
        summary: `One document of ${def.name}`,
        parameters: [
          query("populate", { type: "string" }, "Comma list of ref fields to populate"),
          query("fields", { type: "string" }, "Comma list of fields to answer (alias `select`); `_id` always comes"),
        ],
        responses: jsonResponses(200, "The document (with its ETag)", document),
      }),
      ...offered("put", "update", {
        ...op("replace"),
        summary: `Replace a document of ${def.name}`,
        parameters: [ifMatch],
        requestBody: jsonBody(schemaRef(names.insert)),
        responses: jsonResponses(200, "The replaced document", document),
      }),
      ...offered("patch", "update", {
        ...op("update"),
        summary: `Update fields of a document of ${def.name}`,
        parameters: [ifMatch],
        requestBody: jsonBody(schemaRef(names.patch)),
        responses: jsonResponses(200, "The merged document", document),
      }),
      ...offered("delete", "delete", {
        ...op("delete"),
        summary: `Delete a document of ${def.name}`,
        parameters: [ifMatch],
        responses: jsonResponses(200, "The document is deleted", deleted),
      }),
    },
  };
  return Object.fromEntries(Object.entries(paths).filter(([, item]) => hasOperations(item)));
}
