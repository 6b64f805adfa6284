/**
 * Schemaless field names that end in one of Edgeback's suffix operators (`logged_in`, `opt_in`):
 * urBackend's SDK sends `filter: {logged_in: true}` as `?logged_in=true`, which urBackend reads as
 * equality; the documented suffix operators keep working on the same collection.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeAll(async () => {
  env = await dataTestEnv();
  const docs = [
    { logged: "true", logged_in: false, opt_in: "yes", n: 1 },
    { logged_in: true, opt_in: "no", n: 2 },
    { logged: "no", n: 3 },
  ];
  expect((await env.sk("POST", "/api/data/sessions/bulk", docs)).status).toBe(201);
});
afterAll(() => env.close());

const ns = async (query: string) => {
  const res = await env.sk("GET", `/api/data/sessions?sort=n&${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json.data.items.map((d: { n: number }) => d.n);
};

it.each([
  ["logged_in=true", [1, 2]], // logged_in is true (2), or logged is one of "true", true (1)
  ["opt_in=yes", [1]],
  ["opt_in=no", [2]],
  ["n_in=1,3", [1, 3]],
  ["logged_ne=no", [1, 2]],
  ["opt_exists=false", [1, 2, 3]],
  ["logged_regex=^t", [1]],
  ["n_gte=2", [2, 3]],
])("%s", async (query, expected) => {
  expect(await ns(query)).toEqual(expected);
});
