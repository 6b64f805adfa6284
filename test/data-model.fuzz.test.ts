/**
 * Model-based (stateful) fuzzing of the data API (fast-check commands, bounded runs): random
 * sequences of requests run against a real data app over the embedded store and against a plain
 * in-memory model of one collection (test/model/), and every answer must be the model's.
 *
 * The model covers inserts and bulks (validation, owner rules, unique slugs, the item a 409 names),
 * GET with If-None-Match, PATCH/PUT/DELETE with If-Match (current, weak, `*`, stale, lists), cursor
 * walks with writes between pages, numbered pages and counts over suffix and JSON filters and three
 * sort notations, `fields=` projections, redefining and recreating the collection, the private and
 * public-read rules for the secret key, two end users and a guest, the error envelope, ETags, the
 * documentsBytes quota counter (exact) and the usage's documentsWritten. On disk the store is also
 * restarted, and closed under running requests and opened again.
 *
 * Operations sent together are judged as linearizable: their answers and the state they leave must
 * be those of some serial order of them. Only answers a race itself makes possible are accepted
 * beyond that: a 403 QUOTA_EXCEEDED that wrote nothing though every order had room (another write's
 * reservation, given back since, filled the quota for a moment), and a bulk's 409 that names no item
 * (the stored clash was gone by the time the server looked for it). After the store was closed under
 * them, an operation answered 503 must have had no effect; the usage the closed instance buffered is
 * lost (usage is no longer checked), and the quota counter may count more than is stored, never less,
 * and more only when a release failed and was logged: a reservation or release the close cut cannot
 * reach a closed store (the model then tracks the counter with that surplus, exactly).
 */
import { describe, it } from "vitest";
import { type CommandOptions, commandsArb } from "./model/commands.js";
import { closeReal, openReal, type RealOptions } from "./model/harness.js";
import { doFullCheck } from "./model/lists.js";
import { Model } from "./model/model.js";
import { runAgainstModel } from "./model/run.js";

function modelRuns(options: RealOptions & Partial<CommandOptions>, numRuns: number) {
  const commands = commandsArb({
    big: options.big === true,
    onDisk: options.onDisk === true,
    concurrent: options.concurrent === true,
  });
  return runAgainstModel(commands, numRuns, {
    open: () => openReal(options),
    model: () => new Model(),
    check: doFullCheck,
    close: closeReal,
  });
}

// Runs are few (the file takes about 12 s); a failure's shrinking may take far longer than a run.
describe("data API against a model", { timeout: 120_000 }, () => {
  it("public-read, no quota", () => modelRuns({ mode: "public-read" }, 20));
  it("private, no quota", () => modelRuns({ mode: "private" }, 20));
  it("public-read, small documentsBytes quota", () => modelRuns({ mode: "public-read", quota: 1200 }, 20));
  it("large collections (500-document bulks), public-read", () => modelRuns({ mode: "public-read", big: true }, 5));
  it("large collections, private, on disk", () => modelRuns({ mode: "private", big: true, onDisk: true }, 3));
  it("concurrent groups, public-read", () => modelRuns({ mode: "public-read", concurrent: true }, 30));
  it("concurrent groups and closes mid-flight, private, quota, on disk", () =>
    modelRuns({ mode: "private", quota: 1500, onDisk: true, concurrent: true }, 20));
  it("private, quota, on disk with restarts", () => modelRuns({ mode: "private", quota: 4000, onDisk: true }, 10));
});
