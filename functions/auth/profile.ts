/** GET /me, GET /public/:username, PUT /update-profile (API.md §6). */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app";
import { profileSchema } from "../../shared/auth/profile";
import { normalizeUsername, publicProfile, type UserDoc, writeUser } from "../../shared/auth/users";
import { ApiError, type ErrorDetail } from "../../shared/errors";
import { ok } from "../../shared/http";
import type { Update } from "../../shared/store/types";
import { type AuthRuntime, requireUser, scopeOf } from "./context";
import { checkAccountKeys, failOn, parseInto, profilePart, readObject, usernameSchema } from "./inputs";
import { userView } from "./views";

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
    const { set, unset } = (await profileSchema(rt.deps, scope.project)).update(
      profilePart(body),
      scope.keyType,
      details,
    );
    failOn(details);

    const update: Update = { $set: { ...set, updatedAt: new Date(scope.now).toISOString() } };
    const removed = [...unset, ...(username === null ? ["username"] : [])];
    if (typeof username === "string") (update.$set as Record<string, unknown>).username = username;
    if (removed.length > 0) update.$unset = Object.fromEntries(removed.map((field) => [field, ""]));
    const user = (await writeUser(() => scope.cols.users.updateOne({ _id: scope.user._id }, update))) as UserDoc | null;
    if (!user) throw new ApiError("TOKEN_INVALID");
    return ok(c, { user: await userView(rt, scope, user) });
  });

  return routes;
}
