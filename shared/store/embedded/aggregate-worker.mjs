// The worker thread's entry: TypeScript is loaded through tsx, whatever started the process.
import { register } from "tsx/esm/api";

register();
await import("./aggregate-worker.js");
