import type { Hono } from "hono";
import type { AppEnv } from "../shared/app";
import type { Deps } from "../shared/deps";
import { instanceApp } from "./node";

/** Vercel (Node runtime, Web handlers): one handler per HTTP method, all served by the function's app. */
export function vercelHandlers(createApp: (deps: Deps) => Hono<AppEnv>) {
  const app = instanceApp(createApp);
  const handler = async (request: Request) => (await app()).fetch(request);
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
