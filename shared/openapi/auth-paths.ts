/**
 * The auth API (API.md §6) as OpenAPI paths under /api/userAuth. Request bodies come from the zod
 * schemas the routes parse with (shared/auth/bodies.ts); the account is the `users` definition's
 * profile fields beside auth's own.
 */
import {
  changePasswordBody,
  deleteAccountBody,
  emailBody,
  loginBody,
  resetPasswordBody,
  signupBody,
  usernameSchema,
  verifyEmailBody,
} from "../auth/bodies.js";
import { neverShown, notProfileField } from "../auth/fields.js";
import type { CollectionDef } from "../schema/definition.js";
import { collectionSchemas, type JsonSchema, orNull } from "./collection-schema.js";
import { fromZod, jsonBody, jsonResponses, schemaRef, USER_ONLY, USER_SCHEMA } from "./common.js";

/** What of the project's auth settings the document shows. */
export interface AuthShape {
  passwordMinLength: number;
  requireEmailVerification: boolean;
}

export const SESSION_SCHEMA = "auth.Session";
/** The tag of the auth routes: a slash, which no collection name (each its own tag) has. */
export const AUTH_TAG = "/api/userAuth";

const TIMESTAMP = { type: "string", format: "date-time" };

/** The `users` definition without the fields `drop` names (auth's own, which a definition may declare). */
const withoutFields = (users: CollectionDef, drop: (name: string) => boolean): CollectionDef => ({
  ...users,
  fields: users.fields.filter((field) => !drop(field.name)),
});

/** An account as the key sees it: auth's fields and the `users` profile fields (accounts may hold others too). */
export function userSchema(users: CollectionDef, secret: boolean): JsonSchema {
  const profile = collectionSchemas(withoutFields(users, neverShown), secret).document;
  const { createdBy, ...profileProperties } = profile.properties as Record<string, JsonSchema>;
  return {
    ...profile,
    properties: {
      ...profileProperties,
      email: { type: "string", format: "email" },
      username: { type: "string" },
      emailVerified: { type: "boolean" },
      lastLoginAt: TIMESTAMP,
    },
    required: ["email", ...(profile.required as string[])],
    additionalProperties: true,
  };
}

/** The session payload of signup, login and refresh. */
export const sessionSchema: JsonSchema = {
  type: "object",
  properties: {
    user: schemaRef(USER_SCHEMA),
    userId: { type: "string" },
    accessToken: { type: "string", description: "A JWT: send it as `Authorization: Bearer <token>`" },
    token: { type: "string", description: "The same as accessToken" },
    tokenType: { const: "Bearer" },
    expiresIn: { type: "integer", description: "Seconds the access token lives" },
    expiresAt: TIMESTAMP,
    refreshToken: {
      type: "string",
      description: "Only with `x-refresh-token-mode: header` (it is always set as a cookie too)",
    },
  },
  required: ["user", "userId", "accessToken", "token", "tokenType", "expiresIn", "expiresAt"],
};

const object = (properties: Record<string, JsonSchema>): JsonSchema => ({
  type: "object",
  properties,
  required: Object.keys(properties),
});

const flag = { const: true };

/** The auth paths, with the `users` definition and the project's auth settings. */
export function authPaths(users: CollectionDef, secret: boolean, auth: AuthShape): Record<string, unknown> {
  const op = (id: string, summary: string) => ({ tags: [AUTH_TAG], operationId: `auth.${id}`, summary });
  // A pk signup or update-profile carrying a private profile field is refused (docs/choices.md).
  const profile = collectionSchemas(withoutFields(users, notProfileField), secret, { privateWritable: false });
  const account = fromZod(signupBody(auth.passwordMinLength));
  const signup = {
    ...account,
    properties: { ...(profile.insert.properties as JsonSchema), ...(account.properties as JsonSchema) },
    required: [...(account.required as string[]), ...((profile.insert.required as string[] | undefined) ?? [])],
    additionalProperties: users.additionalFields,
  };
  const signedUp = auth.requireEmailVerification
    ? object({ user: schemaRef(USER_SCHEMA), emailVerificationRequired: flag })
    : schemaRef(SESSION_SCHEMA);
  const updateProfile = {
    ...profile.patch,
    properties: { ...(profile.patch.properties as JsonSchema), username: orNull(fromZod(usernameSchema)) },
  };
  const refresh = {
    required: false,
    content: {
      "application/json": { schema: { type: "object", properties: { refreshToken: { type: "string" } } } },
    },
  };
  const refreshHeaders = [
    { name: "x-refresh-token", in: "header", schema: { type: "string" }, description: "The refresh token" },
    {
      name: "x-refresh-token-mode",
      in: "header",
      schema: { type: "string", enum: ["header"] },
      description: "`header`: the new refresh token also comes in the body",
    },
  ];
  const withEmail = object({ email: { type: "string" } });
  const session = schemaRef(SESSION_SCHEMA);
  const sessionItem = object({
    id: { type: "string" },
    createdAt: TIMESTAMP,
    lastUsedAt: TIMESTAMP,
    expiresAt: TIMESTAMP,
    userAgent: { type: ["string", "null"] },
    current: { type: "boolean" },
  });
  const p = "/api/userAuth";
  return {
    [`${p}/signup`]: {
      post: {
        ...op("signup", "Create an account (a verification code is mailed)"),
        requestBody: jsonBody(signup),
        responses: jsonResponses(201, "The new account's session", signedUp),
      },
    },
    [`${p}/login`]: {
      post: {
        ...op("login", "Sign in with email and password"),
        requestBody: jsonBody(fromZod(loginBody)),
        responses: jsonResponses(200, "A session", session),
      },
    },
    [`${p}/refresh-token`]: {
      post: {
        ...op("refresh", "A new session for a refresh token (cookie, header or body); the old one is spent"),
        parameters: refreshHeaders,
        requestBody: refresh,
        responses: jsonResponses(200, "A new session", session),
      },
    },
    [`${p}/logout`]: {
      post: {
        ...op("logout", "End the session of the refresh token (or of the bearer token)"),
        parameters: refreshHeaders.slice(0, 1),
        requestBody: refresh,
        responses: jsonResponses(
          200,
          "Logged out",
          object({ success: flag, loggedOut: flag, revoked: { type: "boolean" } }),
        ),
      },
    },
    [`${p}/me`]: {
      get: {
        ...op("me", "The signed-in account"),
        security: USER_ONLY,
        responses: jsonResponses(200, "The account", schemaRef(USER_SCHEMA)),
      },
      delete: {
        ...op("deleteAccount", "Delete the signed-in account (not its data)"),
        security: USER_ONLY,
        requestBody: jsonBody(fromZod(deleteAccountBody), false),
        responses: jsonResponses(
          200,
          "Deleted",
          object({ _id: { type: "string" }, id: { type: "string" }, deleted: flag }),
        ),
      },
    },
    [`${p}/public/{username}`]: {
      get: {
        ...op("publicProfile", "An account's public profile"),
        parameters: [{ name: "username", in: "path", required: true, schema: { type: "string" } }],
        responses: jsonResponses(200, "`_id`, `username`, `createdAt` and the project's public profile fields", {
          type: "object",
          properties: { _id: { type: "string" }, username: { type: "string" }, createdAt: TIMESTAMP },
          required: ["_id", "username"],
        }),
      },
    },
    [`${p}/verify-email`]: {
      post: {
        ...op("verifyEmail", "Verify the email with the mailed code"),
        requestBody: jsonBody(fromZod(verifyEmailBody)),
        responses: jsonResponses(200, "Verified", object({ email: { type: "string" }, emailVerified: flag })),
      },
    },
    [`${p}/resend-verification`]: {
      post: {
        ...op("resendVerification", "Mail a new verification code (alias /resend-verification-otp)"),
        requestBody: jsonBody(fromZod(emailBody)),
        responses: jsonResponses(200, "The same answer for every email", withEmail),
      },
    },
    [`${p}/request-password-reset`]: {
      post: {
        ...op("requestPasswordReset", "Mail a password reset code"),
        requestBody: jsonBody(fromZod(emailBody)),
        responses: jsonResponses(200, "The same answer for every email", withEmail),
      },
    },
    [`${p}/reset-password`]: {
      post: {
        ...op("resetPassword", "Set a new password with the mailed code (every session ends)"),
        requestBody: jsonBody(fromZod(resetPasswordBody(auth.passwordMinLength))),
        responses: jsonResponses(200, "Reset", object({ passwordReset: flag })),
      },
    },
    [`${p}/update-profile`]: {
      put: {
        ...op("updateProfile", "Change profile fields (`null` removes an optional one)"),
        security: USER_ONLY,
        requestBody: jsonBody(updateProfile),
        responses: jsonResponses(200, "The account", object({ user: schemaRef(USER_SCHEMA) })),
      },
    },
    [`${p}/change-password`]: {
      put: {
        ...op("changePassword", "Change the password (the other sessions end)"),
        security: USER_ONLY,
        requestBody: jsonBody(fromZod(changePasswordBody(auth.passwordMinLength))),
        responses: jsonResponses(
          200,
          "Changed",
          object({ passwordChanged: flag, revokedSessions: { type: "integer" } }),
        ),
      },
    },
    [`${p}/sessions`]: {
      get: {
        ...op("sessions", "The account's live sessions"),
        security: USER_ONLY,
        responses: jsonResponses(
          200,
          "Sessions, newest first",
          object({ items: { type: "array", items: sessionItem } }),
        ),
      },
    },
    [`${p}/sessions/{id}`]: {
      delete: {
        ...op("revokeSession", "End one of the account's sessions"),
        security: USER_ONLY,
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: jsonResponses(200, "Revoked", object({ id: { type: "string" }, revoked: flag })),
      },
    },
  };
}
