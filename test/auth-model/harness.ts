/**
 * The real side of the model-based test of the auth API: an auth app (test/auth-helpers.ts: fresh
 * test deps over the embedded store in memory, memory mailer, BCRYPT_COST=4, a fake clock) with one
 * project, an admin app over the same deps, and a recorder of every mail sent.
 */
import { createAdminApp } from "../../functions/admin/app.js";
import type { Mail } from "../../shared/mail/index.js";
import { type AuthTestEnv, authTestEnv } from "../auth-helpers.js";
import { type CallOptions, type CallResult, call } from "../data-helpers.js";
import { ADMIN_TOKEN } from "../helpers.js";

export interface Setup {
  requireVerify: boolean;
  maxFailed: number;
  /** The users quota, if any. */
  quota: number | undefined;
}

export interface Real {
  setup: Setup;
  clock: AuthTestEnv["clock"];
  deps: AuthTestEnv["deps"];
  /** One call to /api/userAuth<path> with the project's pk. */
  userAuth: AuthTestEnv["api"];
  admin: ReturnType<typeof createAdminApp>;
  project: AuthTestEnv["project"];
  /** Every mail sent, oldest first (the outbox keeps only the last few). */
  mails: Mail[];
  /** The last requests and their answers, for a failure's message. */
  trace: string[];
}

const TRACE_LINES = 16;

export async function openReal(setup: Setup): Promise<Real> {
  const settings: Record<string, unknown> = {
    auth: { requireEmailVerification: setup.requireVerify, maxFailedLogins: setup.maxFailed },
    ...(setup.quota === undefined ? {} : { quotas: { users: setup.quota } }),
  };
  const { clock, deps, api: userAuth, project } = await authTestEnv({ settings });
  const mails: Mail[] = [];
  const send = deps.mailer.send.bind(deps.mailer);
  deps.mailer.send = async (mail: Mail) => {
    mails.push(mail);
    return send(mail);
  };
  return { setup, clock, deps, userAuth, admin: createAdminApp(deps), project, mails, trace: [] };
}

export async function closeReal(r: Real) {
  await r.deps.usage.flush().catch(() => {});
  await r.deps.store.close();
}

function record(r: Real, line: string) {
  r.trace.push(line);
  if (r.trace.length > TRACE_LINES) r.trace.shift();
}

/** One call to /api/userAuth<path> with the project's pk, traced. */
export async function api(r: Real, method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const res = await r.userAuth(method, path, opts);
  const sent = `${opts.body === undefined ? "" : JSON.stringify(opts.body)} ${JSON.stringify(opts.headers ?? {})}${opts.token ? ` bearer=${opts.token.slice(-8)}` : ""}`;
  record(
    r,
    `t+${(r.clock.now() - Date.parse("2026-01-01T00:00:00Z")) / 1000}s ${method} ${path} ${sent} -> ${res.status} ${res.text.slice(0, 300)}`,
  );
  return res;
}

export async function adminCall(r: Real, method: string, path: string): Promise<CallResult> {
  const res = await call(r.admin, method, `/api/admin/projects/${r.project.id}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  record(r, `admin ${method} ${path} -> ${res.status} ${res.text.slice(0, 200)}`);
  return res;
}

/** The users counter of the quota, as stored (undefined: not made). */
export async function usersCounter(r: Real): Promise<number | undefined> {
  const doc = await r.deps.store.platform().collection("quota_usage").findOne({ _id: r.project.id });
  return doc?.users as number | undefined;
}

export type { CallResult };
