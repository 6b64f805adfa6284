import { waitUntil } from "@vercel/functions";
import type { ExecutionContext, Hono } from "hono";
import type { AppEnv } from "../shared/app.js";
import type { FunctionNeeds } from "../shared/config.js";
import type { Deps } from "../shared/deps.js";
import { VERCEL_DEFAULTS } from "./env-defaults.js";
import { instanceApp } from "./node.js";

/** The query parameter vercel.json's rewrites capture; Vercel appends it to the (unchanged) URL. */
export const REWRITE_PARAM = "__ebpath";

/** The request as the client sent it: the rewrite's own parameter removed from the query. */
export function clientRequest(request: Request): Request {
  const url = new URL(request.url);
  if (!url.searchParams.has(REWRITE_PARAM)) return request;
  url.searchParams.delete(REWRITE_PARAM);
  return new Request(url, request);
}

/** Vercel's waitUntil as the app's execution context: work handed to it keeps the function alive after the answer. */
const vercelContext: ExecutionContext = {
  waitUntil: (promise) => {
    waitUntil(promise);
  },
  passThroughOnException: () => {},
  props: {},
};

/**
 * Vercel (Node runtime, Web handlers): one handler per HTTP method, all served by the function's app.
 * Client IPs come from the `x-forwarded-for` Vercel's edge sets, unless TRUSTED_PROXY says otherwise.
 * `required`: variables the function cannot work without (ADMIN_TOKEN for admin).
 */
export function vercelHandlers(createApp: (deps: Deps) => Hono<AppEnv>, options: FunctionNeeds = {}) {
  const app = instanceApp(createApp, VERCEL_DEFAULTS, options);
  const handler = async (request: Request) => (await app()).fetch(clientRequest(request), undefined, vercelContext);
  return {
    GET: handler,
    POST: handler,
    PUT: handler,
    PATCH: handler,
    DELETE: handler,
    OPTIONS: handler,
    HEAD: handler,
  };
}
