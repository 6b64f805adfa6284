import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";

/** All four functions over `deps`, served over real HTTP on a free loopback port (for clients like the SDK). */
export async function serveLocalApp(deps: Deps): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const app = createLocalApp(deps);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
