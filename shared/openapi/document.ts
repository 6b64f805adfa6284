/**
 * The OpenAPI 3.1 document of one project's API (GET /api/schemas/openapi.json): its collections'
 * data routes and schemas, and the fixed auth and storage routes. Pure: definitions in, document
 * out, so it is tested without a server.
 */
import { publishableAggregates } from "../aggregate.js";
import type { CollectionDef } from "../schema/definition.js";
import { implicitDefinition, isUsersCollection, USERS } from "../schema/names.js";
import { AUTH_TAG, type AuthShape, authPaths, SESSION_SCHEMA, sessionSchema, userSchema } from "./auth-paths.js";
import { collectionSchemas } from "./collection-schema.js";
import { ERROR_RESPONSE, ERROR_SCHEMA, errorResponse, errorSchema, USER_SCHEMA } from "./common.js";
import { collectionComponents, collectionPaths } from "./data-paths.js";
import { FILE_SCHEMA, fileSchema, STORAGE_TAG, storagePaths } from "./storage-paths.js";

export interface OpenApiInput {
  /** The project's name, for the title. */
  projectName: string;
  /** The public base URL the API answers at (no trailing slash). */
  baseUrl: string;
  /** Whether the document is for the secret key (private fields shown) or the publishable key. */
  secret: boolean;
  /** Every collection the key sees (`users` among them, for the account's profile fields). */
  collections: readonly CollectionDef[];
  auth: AuthShape;
  /** The project setting `data.publishableAggregate`: whether a pk may aggregate where a definition does not say. */
  publishableAggregate: boolean;
}

/** The project's OpenAPI 3.1 document. */
export function openApiDocument(input: OpenApiInput): Record<string, unknown> {
  const { secret } = input;
  // Without a stored definition, `users` has no profile fields and takes any.
  const users = input.collections.find((def) => isUsersCollection(def.name)) ?? implicitDefinition(USERS);
  // /api/data never serves `users` (403 USERS_COLLECTION_BLOCKED): accounts are the auth routes'.
  const collections = input.collections.filter((def) => !isUsersCollection(def.name));
  const schemas: Record<string, unknown> = {
    [ERROR_SCHEMA]: errorSchema,
    [USER_SCHEMA]: userSchema(users, secret),
    [SESSION_SCHEMA]: sessionSchema,
    [FILE_SCHEMA]: fileSchema,
  };
  const paths: Record<string, unknown> = {};
  for (const def of collections) {
    const names = collectionComponents(def.name);
    const { document, insert, patch } = collectionSchemas(def, secret);
    Object.assign(schemas, { [names.document]: document, [names.insert]: insert, [names.patch]: patch });
    const aggregates = secret || publishableAggregates(def, input.publishableAggregate);
    Object.assign(paths, collectionPaths(def, secret, aggregates));
  }
  Object.assign(paths, authPaths(users, secret, input.auth), storagePaths(secret));
  return {
    openapi: "3.1.0",
    info: {
      title: `${input.projectName} (Edgeback API)`,
      version: "1",
      description:
        `The API of this project as its ${secret ? "secret" : "publishable"} key sees it. ` +
        "Answers are wrapped in `{success: true, data}`; errors in `{success: false, code, message}`.",
    },
    servers: [{ url: input.baseUrl }],
    tags: [
      ...collections.map((def) => ({ name: def.name, description: `The ${def.name} collection` })),
      { name: AUTH_TAG, description: "End-user accounts and sessions" },
      { name: STORAGE_TAG, description: "Files" },
    ],
    security: [{ apiKey: [] }, { apiKey: [], bearerAuth: [] }],
    paths,
    components: {
      schemas,
      responses: { [ERROR_RESPONSE]: errorResponse },
      securitySchemes: {
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "The project's pk_live_ or sk_live_ key",
        },
        apiKeyQuery: { type: "apiKey", in: "query", name: "key", description: "The publishable key, for links" },
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An end user's access token" },
      },
    },
  };
}
