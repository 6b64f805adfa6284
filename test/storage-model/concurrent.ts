/**
 * Operations sent together: their answers, and the state they leave, must be those of some serial
 * order of them. Optionally a release of bytes fails among them, or the store is closed while they
 * run and opened again from disk, as after a crash.
 */
import { deleteBlobs, type FileDoc, fileRecords } from "../../shared/storage/files.js";
import { removeAndRelease } from "../../shared/storage/quota.js";
import { closeUnder, someSerialOrder } from "../model/concurrent.js";
import { check, fail } from "../model/operations.js";
import { blobFiles, counter, openAgain, type Real, records, releaseFailures, request } from "./harness.js";
import { type Answer, judge, type Op } from "./judge.js";
import { bytesOf, declaredType, equalBytes, type MFile, type Model, type ProjectName } from "./model.js";
import { type Abstract, refuseARelease, resolveAll, send } from "./ops.js";
import { checkState, countOf, mismatches, snapshot } from "./state.js";

const PROJECTS = ["P", "Q"] as const;
const pathOf = (op: Op) => ("path" in op && op.path ? op.path : undefined);
/** An operation as a failure prints it (bytes and URLs shortened). */
const printable = (op: Op) =>
  JSON.parse(
    JSON.stringify(op, (k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : k === "url" ? "<url>" : v)),
  );

/**
 * Sends the operations at once; `refused`: the first release of bytes among them fails. With a failed
 * release, a recount may overtake another operation's release (shared/storage/quota.ts): the
 * counters may then count more than the model's, never less, and the model takes that surplus. So
 * may a group that starts with a project's counter dropped (by a refused release of an earlier group,
 * until a reservation counts it afresh): its recount may race a DELETE of the group (seed -129999893).
 */
export async function doConcurrent(m: Model, r: Real, abstracts: Abstract[], refused = false) {
  const ops = resolveAll(m, abstracts);
  const dropped = await Promise.all(
    PROJECTS.map(async (p) => m.filesOf(p).length > 0 && (await counter(r, r[p])) === undefined),
  );
  const surplus = (refused && refuseARelease(m, r)) || dropped.includes(true);
  const answers = await Promise.all(ops.map((op) => send(r, op)));
  r.faults.releases = 0;
  const snap = await snapshot(r, m);
  const puts = ops.filter((op) => op.kind === "put").map((op) => op.path);
  const race = {
    paths: new Set(ops.map(pathOf).filter((p): p is string => p !== undefined)),
    puts: new Set(puts.filter((p, i) => puts.indexOf(p) !== i)),
    // A PUT refused for its Content-Type (415) never claimed its file.
    putPaths: new Set(ops.flatMap((op, i) => (op.kind === "put" && answers[i]!.res.status !== 415 ? [op.path] : []))),
  };
  const explained = someSerialOrder(
    r,
    ops.map(printable),
    answers.map((a) => a.res),
    (order) => {
      const trial = m.trial(race);
      for (const i of order) judge(trial, r, ops[i]!, answers[i]!);
      const problems = mismatches(trial, snap, surplus);
      if (problems.length) throw new Error(`state: ${problems.join("; ")}`);
      return trial;
    },
  );
  for (const p of PROJECTS) explained.s.leaked[p] = countOf(snap, p) - explained.recordedBytes(p);
  m.adopt(explained);
}

/**
 * Sends the operations, closes the store `turns` event-loop turns later, opens it again once all have
 * answered. No answer may be a 500 or outside the envelope; the state read back must be explainable
 * (resync), and the usage the closed instance buffered is lost (no longer checked).
 */
export async function doCloseMidFlight(m: Model, r: Real, abstracts: Abstract[], turns: number) {
  const ops = resolveAll(m, abstracts);
  const closable = {
    close: () => r.deps.store.close(),
    releaseFailures: () => releaseFailures(r),
    openAgain: () => openAgain(r),
  };
  const { answers, releasesFailed } = await closeUnder(closable, () => ops.map((op) => send(r, op)), turns);
  m.s.usageKnown = false;
  for (const [i, answer] of answers.entries()) {
    for (const res of [answer.res, answer.followed]) {
      if (!res) continue;
      check(r, res.status !== 500, `close mid-flight: ${ops[i]!.kind} answered 500 ${res.text}`);
      if (res.status >= 400 && res.json !== undefined)
        check(r, res.json.success === false && typeof res.json.code === "string", `close: bad envelope ${res.text}`);
    }
  }
  await resync(m, r, ops, answers, releasesFailed);
}

/**
 * Takes what a close left, where the operations it cut explain it: files the group did not name are
 * unchanged; a pending file the group wrote may be ready with its PUT's bytes (a look settles one whose
 * record the close left pending, once the claim of the PUT that stored them lapses: the clock moves on
 * to that), or keep a PUT's claim (`uploading`: its URL refuses every PUT until the claim lapses); new records come from the group's uploads (pending where an upload was cut before
 * its bytes were written); a cut DELETE may leave a tombstone, never a ready record without its bytes;
 * bytes without a record are orphans (never served, never counted). The
 * counters may count more than the records only where a release failed and was logged.
 */
async function resync(m: Model, r: Real, ops: Op[], answers: Answer[], releasesFailed: number) {
  const named = new Set(ops.map(pathOf));
  for (const p of PROJECTS) {
    for (const rec of await records(r, r[p])) {
      // A DELETE cut once its record was a tombstone (due at once): ended here as the project's next
      // quota check would end it (its bytes, then the record and its reservation).
      if (rec.status === "deleted") {
        check(r, named.has(rec._id as string), `close: tombstone of ${rec._id} no DELETE of the group left`);
        await deleteBlobs(r.blobs, rec as FileDoc);
        await removeAndRelease(r.deps, r[p].id, () =>
          fileRecords(r.deps).deleteOne({ _id: rec._id as string, status: "deleted" }),
        );
      }
      if (rec.status === "pending" && (await r.blobs.head(rec._id as string))) {
        // Bytes a PUT stored under its claim: a look settles them once the claim lapses, not before.
        const claimed = rec.uploading ? Date.parse(rec.uploading as string) + 1 - r.clock.now() : 0;
        if (claimed > 0) {
          r.clock.advance(claimed);
          m.s.nowMs += claimed;
          r.trace.push(`-- clock +${claimed} ms: ${rec._id}'s claim lapses --`);
        }
        const url = `/api/storage/file?path=${encodeURIComponent(rec._id as string)}`;
        await request(r, "settling look", "GET", url, { headers: { "x-api-key": r[p].sk } });
      }
    }
  }
  const next = m.trial();
  for (const p of PROJECTS) {
    const recs = new Map((await records(r, r[p])).map((rec) => [rec._id as string, rec]));
    for (const f of m.filesOf(p)) {
      const rec = recs.get(f.path);
      recs.delete(f.path);
      if (!rec) {
        // A pending file with stored bytes is settled by the look above: refused ones go.
        check(r, named.has(f.path) || !!f.refused || m.released(f), `close: ${f.path} vanished`);
        next.remove(f.path);
      } else if (rec.status === f.status) {
        if (rec.uploading) next.s.files[f.path] = { ...f, stuckUntil: Date.parse(rec.uploading as string) };
      } else {
        check(
          r,
          f.status === "pending" && rec.status === "ready" && named.has(f.path),
          `close: ${f.path} ${rec.status}`,
        );
        const bytes = (await r.blobs.get(f.path))?.body;
        const stored = bytes && new Uint8Array(await new Response(bytes).arrayBuffer());
        const sent = ops.flatMap((op) => (op.kind === "put" && op.path === f.path ? [op.body] : []));
        const written = !!stored && sent.some((body) => equalBytes(stored, body));
        check(r, written, `close: ${f.path} ready with bytes no PUT of the group sent`);
        next.s.files[f.path] = { ...f, status: "ready", bytes: stored! };
      }
    }
    for (const [id, rec] of recs) next.s.files[id] = await newFile(r, next, p, ops, answers, id, rec);
  }
  for (const p of PROJECTS) {
    const count = (await counter(r, r[p])) ?? next.recordedBytes(p); // none: counted afresh at its next use
    const surplus = count - next.recordedBytes(p);
    check(r, surplus >= 0, `close: ${p} counter ${count} below the ${next.recordedBytes(p)} bytes recorded`);
    check(r, surplus <= m.s.leaked[p] || releasesFailed > 0, `close: ${p} counter grew with no failed release`);
    next.s.leaked[p] = surplus;
  }
  m.adopt(next);
  for (const f of Object.values(m.s.files)) {
    if (f.status === "ready") check(r, !!(await r.blobs.head(f.path)), `close: ${f.path} ready without its bytes`);
  }
  if (r.dataDir) {
    const ready = new Set(Object.values(m.s.files).flatMap((f) => (f.status === "ready" ? [f.path] : [])));
    for (const path of (await blobFiles(r)).files)
      if (!ready.has(path) && !m.s.orphans.includes(path)) m.s.orphans.push(path);
  }
  await checkState(m, r, "close mid-flight");
}

/** A record the close left that the model does not have: made by an upload or upload URL of the group. */
async function newFile(
  r: Real,
  m: Model,
  p: ProjectName,
  ops: Op[],
  answers: Answer[],
  id: string,
  rec: Record<string, unknown>,
): Promise<MFile> {
  const i = ops.findIndex(
    (op) => (op.kind === "upload" || op.kind === "presign") && op.caller.startsWith("Q") === (p === "Q"),
  );
  if (i < 0) fail(r, `close: record ${id} from nowhere`);
  const op = ops[i] as Extract<Op, { kind: "upload" | "presign" }>;
  const owner = rec.ownerId === null ? "sk" : rec.ownerId === m.ids.uid.A ? "A" : "B";
  const f: MFile = {
    path: id,
    project: p,
    owner,
    type: rec.contentType as string,
    size: rec.size as number,
    status: rec.status as MFile["status"],
  };
  m.addDirs(id);
  if (rec.status === "ready") {
    const blob = await r.blobs.get(id);
    return { ...f, bytes: blob ? new Uint8Array(await new Response(blob.body).arrayBuffer()) : new Uint8Array() };
  }
  f.exp = Math.floor(Date.parse(rec.expiresAt as string) / 1000) - 1;
  if (rec.uploading) f.stuckUntil = Date.parse(rec.uploading as string);
  const data = answers[i]?.res.json?.data;
  const url = data?.uploadUrl ?? data?.signedUrl;
  if (url && (data.path ?? data.filePath) === id) {
    f.url = url;
    f.planned = bytesOf({ ...op.content, size: op.kind === "presign" ? op.size : op.content.size });
    f.putType = declaredType(op.content);
  }
  return f;
}
