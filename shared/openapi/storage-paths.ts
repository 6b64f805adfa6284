/**
 * The storage API (API.md §7) as OpenAPI paths under /api/storage. JSON bodies come from the zod
 * schemas the routes parse with (shared/storage/bodies.ts).
 */
import { DEFAULT_LIMIT, MAX_LIMIT } from "../query/paging.js";
import { deleteFileBody, directUploadBody, uploadConfirmBody } from "../storage/bodies.js";
import type { JsonSchema } from "./collection-schema.js";
import { ERROR_RESPONSE, fromZod, jsonBody, jsonResponses, schemaRef, USER_ONLY } from "./common.js";

export const FILE_SCHEMA = "storage.File";
/** The tag of the storage routes: a slash, which no collection name (each its own tag) has. */
export const STORAGE_TAG = "/api/storage";

/** What the upload routes and the list say of a file. */
const fileFields = {
  path: { type: "string", description: "`<projectId>/<folder>/<random>-<name>`" },
  url: { type: "string", format: "uri", description: "Where the file is read (GET /api/storage/file)" },
  size: { type: "integer" },
  contentType: { type: "string" },
};

/** A stored file as the upload routes answer it. */
export const fileSchema: JsonSchema = {
  type: "object",
  properties: { ...fileFields, provider: { type: "string", enum: ["internal", "external"] } },
  required: ["path", "url", "size", "contentType"],
};

/** A listed file: what an upload answers, and when it was stored. */
const listedFile: JsonSchema = {
  type: "object",
  properties: { ...fileFields, createdAt: { type: "string", format: "date-time" } },
  required: ["path", "url", "size", "contentType", "createdAt"],
};

/** GET /files's query (an addition to the contract). */
const listParameters = [
  {
    name: "prefix",
    in: "query",
    schema: { type: "string" },
    description: "A folder: `avatars/`, `users/<userId>/` or `<projectId>/avatars/` (default: every file)",
  },
  {
    name: "limit",
    in: "query",
    schema: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
    description: "Page size",
  },
  { name: "cursor", in: "query", schema: { type: "string" }, description: "The `nextCursor` of the previous page" },
];

/**
 * The storage paths, for a secret or a publishable key: uploads, deletions and lists take the secret
 * key alone, or a publishable key with an end user's token (uploads where the project allows them).
 */
export function storagePaths(secret: boolean): Record<string, unknown> {
  const writers = secret ? [{ apiKey: [] }] : USER_ONLY;
  const op = (id: string, summary: string) => ({ tags: [STORAGE_TAG], operationId: `storage.${id}`, summary });
  const direct = jsonBody(fromZod(directUploadBody));
  const p = "/api/storage";
  return {
    [`${p}/upload`]: {
      post: {
        ...op("upload", "Upload a file (multipart/form-data)"),
        security: writers,
        requestBody: {
          required: true,
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: {
                  file: { type: "string", contentMediaType: "application/octet-stream" },
                  folder: { type: "string" },
                },
                required: ["file"],
              },
            },
          },
        },
        responses: jsonResponses(201, "The stored file", schemaRef(FILE_SCHEMA)),
      },
    },
    [`${p}/upload-url`]: {
      post: {
        ...op("uploadUrl", "A presigned URL for a direct upload"),
        security: writers,
        requestBody: direct,
        responses: jsonResponses(200, "Send the file to uploadUrl with this method and these headers", {
          type: "object",
          properties: {
            uploadUrl: { type: "string", format: "uri" },
            method: { const: "PUT" },
            headers: { type: "object", additionalProperties: { type: "string" } },
            path: { type: "string" },
            expiresIn: { type: "integer" },
          },
          required: ["uploadUrl", "method", "headers", "path", "expiresIn"],
        }),
      },
    },
    [`${p}/upload-request`]: {
      post: {
        ...op("uploadRequest", "urBackend's direct upload: a signed URL, then /upload-confirm"),
        security: writers,
        requestBody: direct,
        responses: jsonResponses(200, "PUT the file to signedUrl", {
          type: "object",
          properties: {
            signedUrl: { type: "string", format: "uri" },
            filePath: { type: "string" },
            expiresIn: { type: "integer" },
          },
          required: ["signedUrl", "filePath", "expiresIn"],
        }),
      },
    },
    [`${p}/upload-confirm`]: {
      post: {
        ...op("uploadConfirm", "Confirm a direct upload (its size is checked)"),
        security: writers,
        requestBody: jsonBody(fromZod(uploadConfirmBody)),
        responses: jsonResponses(200, "The stored file", schemaRef(FILE_SCHEMA)),
      },
    },
    [`${p}/files`]: {
      get: {
        ...op("listFiles", "List a folder's files by path (pk: only the end user's own)"),
        security: writers,
        parameters: listParameters,
        responses: jsonResponses(200, "A page of ready files, in path order", {
          type: "object",
          properties: {
            items: { type: "array", items: listedFile },
            nextCursor: { type: ["string", "null"], description: "null on the last page" },
          },
          required: ["items", "nextCursor"],
        }),
      },
    },
    [`${p}/file`]: {
      get: {
        ...op("file", "Read a file: a redirect to it, or its bytes (public projects need no key)"),
        security: [{}, { apiKey: [] }, { apiKeyQuery: [] }],
        parameters: [{ name: "path", in: "query", required: true, schema: { type: "string" } }],
        responses: {
          "200": { description: "The file's bytes", content: { "*/*": { schema: {} } } },
          "302": { description: "A redirect to the file (a signed URL for a private project)" },
          default: { $ref: `#/components/responses/${ERROR_RESPONSE}` },
        },
      },
      delete: {
        ...op("deleteFile", "Delete a file (pk: only the end user's own)"),
        security: writers,
        requestBody: jsonBody(fromZod(deleteFileBody)),
        responses: jsonResponses(200, "Deleted", {
          type: "object",
          properties: { path: { type: "string" }, deleted: { const: true } },
          required: ["path", "deleted"],
        }),
      },
    },
  };
}
