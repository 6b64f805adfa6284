/**
 * Listing files (an addition to API.md §7): GET /files?prefix=&limit=&cursor=, the ready files of a
 * folder in path order, a page at a time. The secret key lists the project's, a publishable key with
 * an end user's token that user's own.
 */
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { ok, queryParams } from "../../shared/http.js";
import { invalidQuery } from "../../shared/query/fail.js";
import { assertSingle, LIST_TIME_MS, parseLimit } from "../../shared/query/paging.js";
import { type FileDoc, fileRecords } from "../../shared/storage/files.js";
import { parseFolderPrefix, userFolder } from "../../shared/storage/paths.js";
import { endUser, fileUrl, type StorageRuntime } from "./context.js";

/** What a cursor may hold: a file path (ASCII letters, digits, `.`, `_`, `-` and `/`, at most 512). */
const PATH_TEXT = /^[A-Za-z0-9._/-]{1,512}$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,700}$/;

/** A page's cursor: the last path listed, opaque so clients pass it back rather than build one. */
const cursorOf = (path: string) => Buffer.from(path, "latin1").toString("base64url");

/** The path a cursor stands for; 400 unless it is one of `folder` (a cursor of another list). */
function pathOfCursor(cursor: string, folder: string): string {
  const path = BASE64URL.test(cursor) ? Buffer.from(cursor, "base64url").toString("latin1") : "";
  if (!PATH_TEXT.test(path)) throw invalidQuery("cursor", "malformed cursor: pass the nextCursor of the previous page");
  if (!path.startsWith(folder))
    throw invalidQuery("cursor", "this cursor is of another prefix; start again without one");
  return path;
}

/**
 * The folder both folders name (`<projectId>/…/`), or null when neither holds the other: two folders
 * share files only when one is within the other.
 */
const narrower = (a: string, b: string): string | null => (a.startsWith(b) ? a : b.startsWith(a) ? b : null);

/**
 * The first path after every path of a folder: its trailing `/` (0x2F) becomes `0` (0x30). Paths are
 * ASCII, which the embedded store (UTF-16) and MongoDB (UTF-8 bytes) order alike, so the range
 * [folder, end) holds the folder's paths and no other on both, walked on the `_id` index.
 */
const endOf = (folder: string) => `${folder.slice(0, -1)}0`;

export function listRoutes(rt: StorageRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { deps } = rt;

  // The key is checked (and the call rate-limited) by the app's requireApiKey; a guest (pk alone) is
  // 401 as for DELETE /file: it owns no file, and the project's others are not for it to see.
  routes.get("/files", async (c) => {
    const { project, keyType } = c.get("principal");
    const userId = keyType === "publishable" ? await endUser(c, rt) : null;
    const params = queryParams(c);
    assertSingle(params, ["prefix", "limit", "cursor"]);
    const prefix = parseFolderPrefix(params.get("prefix") ?? "", project.id);
    const limit = parseLimit(params);
    // A user's uploads are all in their folder (newFilePath): its range is walked, not the project's.
    const folder = userId ? narrower(prefix, `${project.id}/${userFolder(userId)}/`) : prefix;
    const cursor = params.get("cursor");
    const after = cursor === null ? null : pathOfCursor(cursor, folder ?? prefix);
    if (folder === null) return ok(c, { items: [], nextCursor: null });
    const found = (await fileRecords(deps).find(
      {
        _id: { ...(after === null ? { $gte: folder } : { $gt: after }), $lt: endOf(folder) },
        projectId: project.id,
        status: "ready",
        ...(userId ? { ownerId: userId } : {}),
      },
      { sort: { _id: 1 }, limit: limit + 1, maxTimeMs: LIST_TIME_MS },
    )) as FileDoc[];
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return ok(c, {
      items: page.map((file) => ({
        path: file._id,
        url: fileUrl(c, rt, file._id),
        size: file.size,
        contentType: file.contentType,
        createdAt: file.createdAt,
      })),
      nextCursor: found.length > limit && last ? cursorOf(last._id) : null,
    });
  });

  return routes;
}
