/**
 * What every part of the OpenAPI document shares: the answer envelope (API.md §2), the error
 * answer, references, and turning the routes' zod body schemas into JSON Schema.
 */
import { z } from "zod";
import { ID_PATTERN } from "../ids.js";
import type { JsonSchema } from "./collection-schema.js";

/**
 * Component names of the fixed parts carry a dot, which no collection name has (`^[a-zA-Z][a-zA-Z0-9_-]*$`):
 * a collection named `Error` or `User` cannot take their place.
 */
export const ERROR_SCHEMA = "api.Error";
export const ERROR_RESPONSE = "api.Error";
export const USER_SCHEMA = "auth.User";

/** An id as the API takes and answers it (a document's, a user's): lower-case hex (shared/ids.ts). */
export const ID_SCHEMA = { type: "string", pattern: ID_PATTERN.source } as const;

/** A reference to a component schema. */
export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** The security of operations that need an end user's access token beside the key. */
export const USER_ONLY = [{ apiKey: [], bearerAuth: [] }];

/** The success envelope around `data`: `{success: true, data, message?}`. */
export function envelope(data: JsonSchema): JsonSchema {
  return {
    type: "object",
    properties: { success: { const: true }, data, message: { type: "string" } },
    required: ["success", "data"],
  };
}

/** The error envelope: `{success: false, message, code, details?, requestId}`. */
export const errorSchema: JsonSchema = {
  type: "object",
  properties: {
    success: { const: false },
    message: { type: "string" },
    code: { type: "string", description: "An UPPER_SNAKE code from API.md §2; a shipped code never changes" },
    details: {
      type: "array",
      items: {
        type: "object",
        properties: {
          path: { type: "string", description: "The failing field in dot notation" },
          message: { type: "string" },
          index: { type: "integer", description: "The failing item of a bulk insert" },
          omitted: { type: "integer", description: "How many more problems were found and not listed" },
        },
      },
    },
    requestId: { type: "string" },
  },
  required: ["success", "message", "code", "requestId"],
};

/** Every error answer, whatever its status: the error envelope. */
export const errorResponse = {
  description: "An error (the status and `code` say which; API.md §2)",
  content: { "application/json": { schema: schemaRef(ERROR_SCHEMA) } },
};

/** A JSON answer: the success envelope around `data`, and the error envelope for any other status. */
export function jsonResponses(status: number, description: string, data: JsonSchema) {
  return {
    [String(status)]: { description, content: { "application/json": { schema: envelope(data) } } },
    default: { $ref: `#/components/responses/${ERROR_RESPONSE}` },
  };
}

/** A JSON request body. */
export function jsonBody(schema: JsonSchema, required = true) {
  return { required, content: { "application/json": { schema } } };
}

/** A route's zod body schema as JSON Schema: what it accepts (its input side), without `$schema`. */
export function fromZod(schema: z.ZodType): JsonSchema {
  const { $schema, ...out } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return out;
}
