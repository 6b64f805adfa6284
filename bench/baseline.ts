/**
 * The ceiling: a bare Hono app on @hono/node-server answering one fixed JSON body (the list response
 * the benchmark measured, so both send the same bytes). Prints its port on stdout.
 */
import { readFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const body = readFileSync(process.argv[2] ?? "", "utf8");
const app = new Hono();
app.get("/list", (c) => c.body(body, 200, { "content-type": "application/json" }));
serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => console.log(`port ${info.port}`));
