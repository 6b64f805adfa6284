/** How accounts leave the auth function: never the password hash; private profile fields only for sk. */
import { profileSchema } from "../../shared/auth/profile.js";
import { accountView, type UserDoc } from "../../shared/auth/users.js";
import type { AuthRuntime, AuthScope } from "./context.js";

/** The account as the calling key may see it. */
export async function userView(rt: AuthRuntime, scope: AuthScope, user: UserDoc): Promise<Record<string, unknown>> {
  const profile = await profileSchema(rt.deps, scope.project);
  return profile.view(accountView(user), scope.keyType);
}
