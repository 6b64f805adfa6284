/**
 * The ceiling: a bare Hono app on @hono/node-server answering one fixed JSON body (the list response
 * the benchmark measured, so both send the same bytes). Prints its port on stdout.
 * `/list/busy/:micros` answers the same after that much busy work: what a fixed cost per request does to
 * the ratio on this machine (a slower server also pays more per write, waking an idle load generator).
 */
import { readFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const body = readFileSync(process.argv[2] ?? "", "utf8");
const app = new Hono();
app.get("/list", (c) => c.body(body, 200, { "content-type": "application/json" }));
app.get("/list/busy/:micros", (c) => {
  const until = performance.now() + Number(c.req.param("micros")) / 1000;
  while (performance.now() < until);
  return c.body(body, 200, { "content-type": "application/json" });
});
serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => console.log(`port ${info.port}`));
