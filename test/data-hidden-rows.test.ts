/**
 * A list's answer must not depend on documents the owner rule hides from the caller. The caller's
 * filter runs after the rule, so a hidden document never meets it: before, a filter reaching another
 * user's document (by `_id`, or a narrow `createdAt` window) ran on it first, and a regex whose work
 * could not fit the list's time made a 400 exactly when a guessed prefix of its hidden text held.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
let aliceToken: string;
let hiddenId: string;
/** A regex the meter refuses to run on a long text (400 "ran past its time limit"), accepted as a pattern. */
const DETONATOR = "(?:.{100}){10}".repeat(9);

beforeAll(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "notes",
    fields: [
      { name: "title", type: "string" },
      { name: "body", type: "string" },
    ],
    rls: { enabled: true, mode: "private" },
  });
  aliceToken = await env.token(newUserId());
  const bobToken = await env.token(newUserId());
  const mine = await env.pk("POST", "/api/data/notes", { token: aliceToken, body: { title: "mine", body: "short" } });
  env.clock.advance(60_000);
  const hidden = await env.pk("POST", "/api/data/notes", {
    token: bobToken,
    body: { title: "salary 95000", body: "Lorem ipsum ".repeat(400) },
  });
  expect([mine.status, hidden.status]).toEqual([201, 201]);
  hiddenId = hidden.json.data._id;
});
afterAll(() => env.close());

const guess = (reach: string, prefix: string) =>
  env.pk(
    "GET",
    `/api/data/notes?${reach}&filter=${encodeURIComponent(JSON.stringify({ title: { $regex: `^${prefix}` }, body: { $regex: DETONATOR } }))}`,
    { token: aliceToken },
  );

it.each([
  ["by _id", () => `_id=${hiddenId}`],
  ["by a createdAt window", () => "createdAt_gte=2026-01-01T00:00:30.000Z&createdAt_lte=2026-01-01T00:01:30.000Z"],
])("a filter reaching a hidden document %s answers the same whether its guess about it holds", async (_, reach) => {
  const right = await guess(reach(), "salary");
  const wrong = await guess(reach(), "invoice");
  expect([right.status, right.json.data?.items]).toEqual([200, []]);
  expect([wrong.status, wrong.json.data?.items]).toEqual([200, []]);
});
