/**
 * A real redis-server for tests (Debian's package; .ci/run installs it): started on a free loopback
 * port with a temporary directory and no persistence, plus a minimal RESP client to talk to it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Reply = string | number | null | Error | Reply[];

/** A free loopback port (asked of the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Parses one RESP reply from `buffer` at `at`; undefined when incomplete. */
function parse(buffer: Buffer, at: number): { reply: Reply; end: number } | undefined {
  const lineEnd = buffer.indexOf("\r\n", at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[at] as number);
  const line = buffer.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === "+") return { reply: line, end: next };
  if (type === "-") return { reply: new Error(line), end: next };
  if (type === ":") return { reply: Number(line), end: next };
  if (type === "$") {
    const length = Number(line);
    if (length < 0) return { reply: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { reply: buffer.toString("utf8", next, next + length), end: next + length + 2 };
  }
  if (type === "*") {
    const count = Number(line);
    if (count < 0) return { reply: null, end: next };
    const items: Reply[] = [];
    let end = next;
    for (let i = 0; i < count; i++) {
      const item = parse(buffer, end);
      if (!item) return undefined;
      items.push(item.reply);
      end = item.end;
    }
    return { reply: items, end };
  }
  throw new Error(`Unexpected RESP type ${type}`);
}

/** One connection; commands are pipelined and answered in order. */
export class RespConnection {
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (let parsed = parse(this.buffer, 0); parsed; parsed = parse(this.buffer, 0)) {
        this.buffer = this.buffer.subarray(parsed.end);
        this.waiting.shift()?.resolve(parsed.reply);
      }
    });
    const fail = (error: Error) => {
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed")));
  }

  static open(port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RespConnection(socket)));
      socket.once("error", reject);
    });
  }

  command(args: Array<string | number>): Promise<Reply> {
    const parts = args.map(String);
    let out = `*${parts.length}\r\n`;
    for (const part of parts) out += `$${Buffer.byteLength(part)}\r\n${part}\r\n`;
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new Error("connection closed"));
      this.waiting.push({ resolve, reject });
      this.socket.write(out);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RedisServer {
  port: number;
  /** Stops the server (SIGKILL when `abruptly`, as a crash would). */
  stop(abruptly?: boolean): Promise<void>;
}

/** Starts redis-server on a free port; resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "edgeback-redis-"));
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const missing = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(
        new Error(`redis-server could not start (${error.message}): install it, e.g. apt-get install redis-server`),
      ),
    ),
  );
  for (let attempt = 0; ; attempt++) {
    if (attempt === 0) await Promise.race([missing, new Promise((resolve) => setTimeout(resolve, 20))]);
    try {
      const connection = await RespConnection.open(port);
      await connection.command(["PING"]);
      connection.close();
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`redis-server did not start: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    port,
    stop: async (abruptly = false) => {
      if (child.exitCode === null) child.kill(abruptly ? "SIGKILL" : "SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
