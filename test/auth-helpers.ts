/**
 * Helpers for the auth function's HTTP tests: an auth app over fresh test deps (memory mailer,
 * BCRYPT_COST=4 for speed), a project, JSON calls with a key and Bearer token, and the real
 * one-time codes read from the mail outbox.
 */
import { createAuthApp } from "../functions/auth/app.js";
import type { Deps } from "../shared/deps.js";
import { type CallOptions, call, createTestProject } from "./data-helpers.js";
import { fakeClock, testDeps } from "./helpers.js";

export const PASSWORD = "correct horse battery";

/** Options of an auth test environment. */
export interface AuthEnvOptions {
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Leave BCRYPT_COST unset (the default cost, 10) instead of 4. */
  defaultCost?: boolean;
}

/**
 * The refresh cookie of one project as a browser meets it: `refreshToken_<projectId>` (API.md §6's
 * `refreshToken`, named per project so that projects on one deployment keep their own: docs/choices.md).
 */
export function projectRefreshCookie(projectId: string) {
  const name = `refreshToken_${projectId}`;
  /** The Set-Cookie line a response sends for it, if any. */
  const line = (res: { headers: Headers }) => res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  return {
    name,
    line,
    /** The token a response sets; undefined when it sets none or clears it. */
    value(res: { headers: Headers }): string | undefined {
      const value = line(res)
        ?.split(";")[0]
        ?.slice(name.length + 1);
      return value === "" ? undefined : value;
    },
    /** A `cookie` request header carrying `token` as this cookie. */
    header: (token: string | undefined) => `${name}=${token}`,
  };
}

/** An auth app with one project ("app") and shortcuts bound to its publishable key. */
export async function authTestEnv(options: AuthEnvOptions = {}) {
  const clock = fakeClock();
  const cost: Record<string, string> = options.defaultCost ? {} : { BCRYPT_COST: "4" };
  const deps = await testDeps({ clock, env: { ...cost, MAIL_PROVIDER: "memory", ...options.env } });
  const app = createAuthApp(deps);
  const project = await createTestProject(deps, "app", options.settings);

  /** One call to /api/userAuth<path>; the project's pk unless `key` says otherwise (null: none). */
  const api = (method: string, path: string, opts: CallOptions = {}) =>
    call(app, method, `/api/userAuth${path}`, { ...opts, key: opts.key === undefined ? project.pk : opts.key });

  /** The mails sent to `to`, newest first. */
  const mails = (to: string, projectId = project.id) =>
    (deps.mailer.outbox?.(projectId) ?? []).filter((mail) => mail.to === to);

  /** The code of the newest mail to `to` whose subject mentions `kind` ("verify" or "reset"). */
  const otpFor = (to: string, kind: "verify" | "reset" = "verify", projectId = project.id) => {
    const mail = mails(to, projectId).find((m) => m.subject.includes(kind));
    if (!mail?.otp) throw new Error(`no ${kind} mail to ${to}`);
    return mail.otp;
  };

  /** Signs up (header mode, so the refresh token is in the body); fails loudly unless 201. */
  const signup = async (email: string, extra: Record<string, unknown> = {}, opts: CallOptions = {}) => {
    const res = await api("POST", "/signup", {
      ...opts,
      body: { email, password: PASSWORD, ...extra },
      headers: { "x-refresh-token-mode": "header", ...opts.headers },
    });
    if (res.status !== 201) throw new Error(`signup of ${email} failed: ${res.status} ${res.text}`);
    return res.json.data as Session;
  };

  /** Logs in (header mode); returns the raw result. */
  const login = (email: string, password = PASSWORD, opts: CallOptions = {}) =>
    api("POST", "/login", {
      ...opts,
      body: { email, password },
      headers: { "x-refresh-token-mode": "header", ...opts.headers },
    });

  /** The project's refresh cookie. */
  const cookie = projectRefreshCookie(project.id);

  return { clock, deps, app, project, api, mails, otpFor, signup, login, cookie, close: () => deps.store.close() };
}

export type AuthTestEnv = Awaited<ReturnType<typeof authTestEnv>>;

/** The session payload of API.md §6. */
export interface Session {
  user: { _id: string; email: string; [field: string]: unknown };
  accessToken: string;
  token: string;
  tokenType: string;
  expiresIn: number;
  expiresAt: string;
  refreshToken?: string;
}

/** A second project in the same deps (for cross-project checks). */
export async function otherProject(deps: Deps) {
  return createTestProject(deps, "other");
}
