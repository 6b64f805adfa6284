import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

/** A child process serving HTTP on a loopback port. */
export interface Served {
  url: string;
  child: ChildProcess;
  /** Peak resident set size of the process so far, in MiB (Linux). */
  peakRssMiB(): Promise<number | null>;
  /** CPU time (user + system) the process has used so far, in µs (Linux). */
  cpuMicros(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `node [nodeArgs] --import tsx <script> ...args` and resolves once it prints the address it listens on. */
export function startServer(
  script: string,
  args: string[],
  env: Record<string, string>,
  listening: RegExp,
  nodeArgs: string[] = [],
): Promise<Served> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = listening.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      resolve({
        url: match[1]!.startsWith("http") ? match[1]! : `http://127.0.0.1:${match[1]}`,
        child,
        peakRssMiB: async () => {
          const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
          const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
          return kb ? Math.round(Number(kb) / 1024) : null;
        },
        cpuMicros: async () => {
          const stat = await readFile(`/proc/${child.pid}/stat`, "utf8").catch(() => "");
          // Fields 14 and 15 (after the parenthesised command name): utime and stime in clock ticks (USER_HZ = 100).
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          const ticks = Number(fields[11]) + Number(fields[12]);
          return Number.isFinite(ticks) ? ticks * 10_000 : null;
        },
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
}
