import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { Config } from "./config.js";
import { ApiError, type ErrorDetail } from "./errors.js";
import { documentJson } from "./store/types.js";

/** The public base URL of this deployment: PUBLIC_URL, else the origin the request came to; no trailing slash. */
export const publicBaseUrl = (c: Context, config: Pick<Config, "publicUrl">) =>
  (config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, "");

/**
 * Writes the success envelope `{success: true, data, message?}`. A message is also put inside an
 * object's data: urBackend's SDK returns `data` alone and its callers read `result.message`.
 */
export function ok(c: Context, data: unknown, status: ContentfulStatusCode = 200, message?: string) {
  if (message === undefined) return c.json({ success: true, data }, status);
  const isObject = typeof data === "object" && data !== null && !Array.isArray(data);
  return c.json({ success: true, data: isObject ? { ...data, message } : data, message }, status);
}

/** The success envelope around data given as JSON text. */
function okJsonText(c: Context, dataJson: string) {
  return c.body(`{"success":true,"data":${dataJson}}`, 200, { "content-type": "application/json" });
}

/** The success envelope around one stored document (its JSON from documentJson). */
export function okDocument(c: Context, doc: object) {
  return okJsonText(c, documentJson(doc));
}

/** The success envelope of a list, `{items, ...rest}`: each item's JSON from documentJson. */
export function okItems(c: Context, items: object[], rest: Record<string, unknown>) {
  const restJson = JSON.stringify(rest);
  const tail = restJson === "{}" ? "" : `,${restJson.slice(1, -1)}`;
  return okJsonText(c, `{"items":[${items.map(documentJson).join(",")}]${tail}}`);
}

/** The request's query parameters, read from the URL's query string alone (parsing the whole URL costs more). */
export function queryParams(c: Context): URLSearchParams {
  const url = c.req.url;
  const start = url.indexOf("?");
  if (start < 0) return new URLSearchParams();
  const end = url.indexOf("#", start);
  return new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end));
}

/** Parses a request body as JSON (whatever its content type); empty → undefined; malformed → INVALID_JSON. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("INVALID_JSON");
  }
}

/** Turns zod issues into `details` entries with dot-notation paths. */
export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** A missing value is "Required", as the data routes say it (zod's own: "expected string, received undefined"). */
export const requiredWhenMissing: z.core.$ZodErrorMap = (issue) =>
  issue.code === "invalid_type" && issue.input === undefined ? "Required" : undefined;

/** Validates a value with a zod schema; failure → 400 VALIDATION_FAILED listing every failing field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { error: requiredWhenMissing });
  if (!result.success) throw new ApiError("VALIDATION_FAILED", undefined, { details: zodDetails(result.error) });
  return result.data;
}

/** Middleware: reads the JSON body, validates it, and exposes it as `c.get("body")`. */
export function jsonBody<S extends z.ZodType>(schema: S): MiddlewareHandler<{ Variables: { body: z.output<S> } }> {
  return async (c, next) => {
    const body = await readJson(c);
    // Only an empty body stands for `{}`: a JSON null is a body, and the schema judges it.
    c.set("body", parseWith(schema, body === undefined ? {} : body));
    await next();
  };
}
