/**
 * The local server (`npm start`): all four functions on one port, over one set of deps.
 * Besides the platform entries, this is the only module that reads process.env.
 */
import type { Server } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { serve } from "@hono/node-server";
import { workOnItsOwn } from "./shared/background.js";
import { type Config, ConfigError, loadConfig } from "./shared/config.js";
import { createDeps } from "./shared/deps.js";
import { createLocalApp } from "./shared/local-app.js";
import { type DemoProject, ensureDemoProject, loadOrCreateAdminToken } from "./shared/local-bootstrap.js";
import { closeQueuedResponsesWithTheirConnection } from "./shared/queued-responses.js";
import { recountAllQuotas } from "./shared/quotas.js";
import { type LimitRule, windowText } from "./shared/ratelimit/rule.js";
import { filesDir, removeTemporaryFiles } from "./shared/storage/fs.js";
import { DataDirError } from "./shared/store/embedded/sqlite.js";

/** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long handlers still running once their connections are closed may take to end (their cleanup writes). */
const HANDLERS_GRACE_MS = 2_000;

async function main(): Promise<void> {
  const dataDir = process.env.DATA_DIR?.trim() || "./.data";
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir };
  const production = env.NODE_ENV === "production";
  const host = env.HOST?.trim() || "127.0.0.1";
  const port = Number(env.PORT?.trim() || "8787");

  let tokenSource = "from ADMIN_TOKEN";
  if (!production && !env.ADMIN_TOKEN?.trim()) {
    const saved = await loadOrCreateAdminToken(dataDir);
    env.ADMIN_TOKEN = saved.token;
    tokenSource = saved.created ? `new, saved in ${saved.file}` : `from ${saved.file}`;
  }
  const config = loadLocalConfig(env, port);
  const deps = await createDeps(config);
  if (deps.store.uncleanShutdown) {
    // Quotas are reserved before their writes: a crash keeps the reservations of writes never made,
    // and the temporary files of the writes it cut (the data dir is ours, and nothing is served yet).
    await recountAllQuotas(deps);
    if (config.store.kind === "embedded" && config.store.dataDir) {
      await removeTemporaryFiles(filesDir(config.store.dataDir));
    }
    console.log("The last run on this DATA_DIR did not stop cleanly: quota counters are recounted at next use");
  }
  const demo = production ? undefined : await ensureDemoProject(deps.projects);
  const app = createLocalApp(deps);
  // Handlers running, counted so that the store closes once they end: a handler outlives its connection
  // (cut once the grace is over, or closed by its client), and its cleanup writes to the store.
  let running = 0;
  let allEnded = () => {};
  const fetch: typeof app.fetch = async (...args) => {
    running++;
    try {
      return await app.fetch(...args);
    } finally {
      if (--running === 0) allEnded();
    }
  };

  const server = serve({ fetch, hostname: host, port }, (info) => {
    const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host}:${info.port}`;
    console.log(banner({ url, config, tokenSource, demo }));
  }) as Server;
  closeQueuedResponsesWithTheirConnection(server);
  server.once("error", async (error) => {
    console.error(`Cannot listen on ${host}:${port}: ${error.message}`);
    await deps.store.close();
    process.exit(1);
  });

  let stopping = false;
  // Once stopping, a keep-alive connection closes as soon as its response is sent.
  server.on("request", (_req, res) => {
    res.once("finish", () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `${signal}: no new connections; waiting for in-flight requests and mails (at most ${SHUTDOWN_GRACE_MS / 1000} s)`,
    );
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
    });
    void graceOver.then(() => server.closeAllConnections());
    await Promise.race([closed.then(() => workOnItsOwn.settled()), graceOver]);
    clearTimeout(timer);
    await closed;
    if (running > 0) {
      const ended = new Promise<void>((resolve) => {
        allEnded = resolve;
      });
      await Promise.race([ended, delay(HANDLERS_GRACE_MS)]);
    }
    if (running > 0) {
      // Their writes are refused once the store closes: what they reserved would stay counted.
      await recountAllQuotas(deps);
      console.log(`${running} requests still running as the store closes: quota counters are recounted at next use`);
    }
    await deps.usage.flush();
    await deps.store.close();
    console.log("Stopped.");
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      stop(signal).catch((error) => {
        console.error("Shutdown failed:", error);
        process.exit(1);
      });
    });
  }
}

/** loadConfig plus the local server's own PORT check, every problem reported at once. */
function loadLocalConfig(env: Record<string, string | undefined>, port: number): Config {
  let problems =
    Number.isInteger(port) && port >= 0 && port <= 65535 ? [] : ["PORT: must be an integer from 0 to 65535"];
  let config: Config | undefined;
  try {
    config = loadConfig(env, { required: ["ADMIN_TOKEN"], files: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = [...problems, ...error.problems];
  }
  if (!config || problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Single-quotes a value for a POSIX shell, so a printed command works when pasted. */
const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** The startup message: where to go, the admin token and demo keys (development only), curls to paste. */
function banner(o: { url: string; config: Config; tokenSource: string; demo: DemoProject | undefined }): string {
  const { url, config, demo } = o;
  const store = config.store.kind === "mongo" ? "MongoDB" : `embedded store in ${config.store.dataDir}`;
  const auth = config.production
    ? `-H "Authorization: Bearer $ADMIN_TOKEN"`
    : `-H ${sh(`Authorization: Bearer ${config.adminToken}`)}`;
  const lines = [``, `Edgeback is running at ${url} (${config.nodeEnv}, ${store})`, ``];
  if (!config.production) lines.push(`  Admin token:  ${config.adminToken}  (${o.tokenSource})`);
  if (demo?.status === "created") {
    lines.push(
      `  Demo project: ${demo.id} (created now; its keys are shown only this once)`,
      `    publishable key: ${demo.keys.publishable}`,
      `    secret key:      ${demo.keys.secret}`,
    );
  } else if (demo?.status === "exists") {
    lines.push(
      `  Demo project: ${demo.id} (exists; its keys were printed when it was created). New keys:`,
      `    curl -s -X POST ${url}/api/admin/projects/${demo.id}/keys/rotate ${auth} -H 'content-type: application/json' -d '{"which":"both"}'`,
    );
  }
  if (!config.production) lines.push(``, `  Rate limits:  ${rateLimitsText(config)}`);
  lines.push(
    ``,
    `Try:`,
    `  curl -s ${url}/api/health`,
    `  curl -s ${url}/api/admin/projects ${auth}`,
    ...(demo && "id" in demo
      ? [`  curl -s ${url}/api/admin/projects/${demo.id}/outbox ${auth}   # the mails it sent`]
      : []),
    ``,
    `Ctrl-C stops the server.`,
  );
  return lines.join("\n");
}

/** The rate limits in force, as the banner tells a developer who may meet them. */
function rateLimitsText(config: Config): string {
  const { pk, auth, sk } = config.rateLimits.rules;
  const text = (rule: LimitRule) => (rule === "off" ? "off" : `${rule.limit} per ${windowText(rule.windowMs)}`);
  const on = [pk, auth, sk].some((rule) => rule !== "off");
  return `pk ${text(pk)}, auth ${text(auth)} (per IP); sk ${text(sk)} (per key)${on ? "; RATE_LIMIT_PK / _AUTH / _SK=off turn them off" : ""}`;
}

main().catch((error) => {
  // Errors the operator can act on are told in a line; anything else with its stack.
  console.error(error instanceof ConfigError || error instanceof DataDirError ? error.message : error);
  process.exit(1);
});
