/**
 * A small Upstash-REST-compatible server in front of a real redis-server, for tests: `POST /` (one
 * command), `/pipeline` and `/multi-exec`, Bearer auth, and the `Upstash-Encoding: base64` responses
 * @upstash/redis asks for. @upstash/ratelimit ≥ 2.1 sends Lua scripts with `#!lua flags=allow-key-locking`,
 * a flag stock Redis refuses: the shim drops it and maps EVALSHA of the original script to the stored one.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type Reply, RespConnection } from "./redis-harness.js";

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** The script as stock Redis accepts it: flags it does not know removed from the shebang line. */
function portableScript(script: string): string {
  return script.replace(/^#!lua[^\n]*/, (line) => {
    const flags =
      /flags=(\S+)/
        .exec(line)?.[1]
        ?.split(",")
        .filter((flag) => flag !== "allow-key-locking") ?? [];
    return flags.length > 0 ? `#!lua flags=${flags.join(",")}` : "#!lua";
  });
}

type Command = Array<string | number>;

async function body(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function encode(reply: Reply, base64: boolean): unknown {
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  if (typeof reply === "string" && base64 && reply !== "OK") return Buffer.from(reply).toString("base64");
  return reply;
}

export interface UpstashShim {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the shim on a free loopback port, forwarding to redis-server on `redisPort`. */
export async function startUpstashShim(redisPort: number, token = "shim-token"): Promise<UpstashShim> {
  const scripts = new Map<string, string>(); // sha1 of the script sent → sha1 of the script stored

  /** Rewrites what stock Redis would refuse; returns the command to send. */
  const translate = (command: Command): Command => {
    const [name, ...args] = command;
    const verb = String(name).toUpperCase();
    if (verb === "EVAL") {
      const script = String(args[0]);
      const portable = portableScript(script);
      scripts.set(sha1(script), sha1(portable));
      return [verb, portable, ...args.slice(1)];
    }
    if (verb === "EVALSHA" || verb === "EVALSHA_RO") {
      return [verb, scripts.get(String(args[0])) ?? String(args[0]), ...args.slice(1)];
    }
    return command;
  };

  let shared: Promise<RespConnection> | undefined;
  const connection = () => {
    shared ??= RespConnection.open(redisPort).catch((error) => {
      shared = undefined;
      throw error;
    });
    return shared;
  };
  const run = async (command: Command, on?: RespConnection): Promise<Reply> => {
    try {
      return await (on ?? (await connection())).command(translate(command));
    } catch (error) {
      shared = undefined;
      throw error;
    }
  };
  const result = (reply: Reply, base64: boolean) =>
    reply instanceof Error ? { error: reply.message } : { result: encode(reply, base64) };

  const server: Server = createServer(async (request, response) => {
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    if (request.headers.authorization !== `Bearer ${token}`) return send(401, { error: "Unauthorized" });
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    try {
      const input = await body(request);
      const path = (request.url ?? "/").split("?")[0];
      if (path === "/pipeline") {
        const replies = await Promise.all((input as Command[]).map((command) => run(command)));
        return send(
          200,
          replies.map((reply) => result(reply, base64)),
        );
      }
      if (path === "/multi-exec") {
        const own = await RespConnection.open(redisPort);
        try {
          await own.command(["MULTI"]);
          for (const command of input as Command[]) await run(command, own);
          const replies = (await own.command(["EXEC"])) as Reply[];
          return send(
            200,
            replies.map((reply) => result(reply, base64)),
          );
        } finally {
          own.close();
        }
      }
      const reply = await run(input as Command);
      return reply instanceof Error ? send(400, { error: reply.message }) : send(200, result(reply, base64));
    } catch (error) {
      send(500, { error: `ERR shim: ${(error as Error).message}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
