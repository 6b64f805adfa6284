/** GET /me, GET /public/:username, PUT /update-profile (API.md §6). */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { profileSchema } from "../../shared/auth/profile.js";
import { normalizeUsername, publicProfile, type UserDoc, writeUser } from "../../shared/auth/users.js";
import { afterUpdate, assertDocumentSize, nextTimestamp } from "../../shared/documents.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { ok } from "../../shared/http.js";
import type { Update } from "../../shared/store/types.js";
import { type AuthRuntime, requireUser, scopeOf } from "./context.js";
import { checkAccountKeys, failOn, parseInto, profilePart, readObject, usernameSchema } from "./inputs.js";
import { userView } from "./views.js";

/** Tries of a guarded profile write before it gives up (each after the account changed under it). */
const MAX_WRITE_ATTEMPTS = 3;

export function profileRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /** `data` is the user object itself, as urBackend answers. */
  routes.get("/me", async (c) => {
    const scope = await requireUser(c, rt);
    return ok(c, await userView(rt, scope, scope.user));
  });

  routes.get("/public/:username", async (c) => {
    const scope = await scopeOf(c, rt);
    const username = normalizeUsername(c.req.param("username"));
    const user = username === "" ? null : await scope.cols.users.findOne({ username });
    if (!user) throw new ApiError("USER_NOT_FOUND");
    const profile = await profileSchema(rt.deps, scope.project);
    return ok(c, publicProfile(user, scope.settings.publicProfileFields, profile));
  });

  routes.put("/update-profile", async (c) => {
    const scope = await requireUser(c, rt);
    const body = await readObject(c);
    const details: ErrorDetail[] = [];
    checkAccountKeys(body, [], details);
    const username = Object.hasOwn(body, "username")
      ? body.username === null
        ? null
        : parseInto(usernameSchema, body.username, details, "username")
      : undefined;
    const profile = await profileSchema(rt.deps, scope.project);
    const fields = profilePart(body);
    const removedUsername = username === null ? ["username"] : [];
    // Written only over the account as read (its updatedAt), so kept private values are current.
    let current: UserDoc | null = scope.user;
    for (let attempt = 0; current && attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const { set, unset } = profile.update(fields, scope.keyType, current, details);
      failOn(details);
      const update: Update = { $set: { ...set, updatedAt: nextTimestamp(current.updatedAt, scope.now) } };
      if (typeof username === "string") (update.$set as Record<string, unknown>).username = username;
      const removed = [...unset, ...removedUsername];
      if (removed.length > 0) update.$unset = Object.fromEntries(removed.map((field) => [field, ""]));
      assertDocumentSize(afterUpdate(current, update), rt.deps.config.maxJsonBytes);
      const guard = { _id: current._id, updatedAt: current.updatedAt ?? null };
      const user = (await writeUser(() => scope.cols.users.updateOne(guard, update))) as UserDoc | null;
      if (user) return ok(c, { user: await userView(rt, scope, user) }, 200, "Profile updated");
      current = (await scope.cols.users.findOne({ _id: current._id })) as UserDoc | null;
    }
    if (!current) throw new ApiError("TOKEN_INVALID");
    throw new ApiError("PRECONDITION_FAILED", "The account kept changing; retry");
  });

  return routes;
}
