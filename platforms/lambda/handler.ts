import type { Hono } from "hono";
import { type APIGatewayProxyResult, handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { AppEnv } from "../../shared/app.js";
import type { FunctionNeeds } from "../../shared/config.js";
import type { Deps } from "../../shared/deps.js";
import { instanceApp } from "../node.js";

/**
 * The most a synchronous Lambda answer may hold: Lambda refuses a result over 6 MB (6 291 556 bytes
 * as it serialises it) and API Gateway then answers its own bare 500; kept a little under.
 */
export const MAX_LAMBDA_RESULT_BYTES = 6_200_000;

/**
 * An AWS Lambda handler (API Gateway HTTP API, payload v2) for one function. Answers are sent as
 * text only where they are the API's own JSON; `files: true` (storage) sends every answer
 * base64-encoded, since a stored file may hold any bytes whatever its type says, and hono would
 * decode a text answer as UTF-8, replacing what is not (and in production it needs S3: loadConfig).
 * `required`: variables the function cannot work without (ADMIN_TOKEN for admin).
 */
export function lambdaHandler(createApp: (deps: Deps) => Hono<AppEnv>, needs: FunctionNeeds = {}) {
  const app = instanceApp(createApp, {}, needs);
  const isContentTypeBinary = needs.files ? () => true : (type: string) => !/^application\/json\b/i.test(type);
  return async (event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> => {
    const result = await handle(await app(), { isContentTypeBinary })(withoutReadBody(event), context);
    return Buffer.byteLength(JSON.stringify(result)) <= MAX_LAMBDA_RESULT_BYTES ? result : tooLarge(result);
  };
}

/**
 * A GET or HEAD event without the body API Gateway passed along: a Request cannot carry one, and
 * hono would answer its own bare 400 (no envelope, no CORS) where Workers and Node ignore it.
 */
function withoutReadBody(event: LambdaEvent): LambdaEvent {
  const shape = event as { httpMethod?: string; requestContext?: { http?: { method?: string } }; body?: unknown };
  const method = shape.httpMethod ?? shape.requestContext?.http?.method ?? "";
  if (shape.body == null || !/^(GET|HEAD)$/i.test(method)) return event;
  return { ...event, body: null, isBase64Encoded: false } as LambdaEvent;
}

/** Headers of an answer that describe its body, which the error envelope replaces. */
const BODY_HEADERS = /^(content-(type|length|encoding|range|disposition)|etag|last-modified|cache-control)$/i;

/** The error envelope in place of an answer Lambda would refuse, with its other headers (CORS, request id). */
function tooLarge(result: APIGatewayProxyResult): APIGatewayProxyResult {
  const kept = <T>(headers: Record<string, T>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => !BODY_HEADERS.test(name)));
  const json = { "content-type": "application/json", "cache-control": "no-store" };
  // hono answers a v1 event with multiValueHeaders only, a v2 event with headers only.
  const headers = result.multiValueHeaders
    ? { multiValueHeaders: { ...kept(result.multiValueHeaders), ...wrapped(json) } }
    : { headers: { ...kept(result.headers ?? {}), ...json } };
  const requestId = result.multiValueHeaders?.["x-request-id"]?.[0] ?? result.headers?.["x-request-id"];
  const body = {
    success: false,
    message:
      "This answer would pass the 6 MB an AWS Lambda function can send: ask for less (limit, fields, populate, or $project and $limit in an aggregate)",
    code: "INVALID_QUERY",
    requestId,
  };
  return { cookies: result.cookies, ...headers, statusCode: 400, body: JSON.stringify(body), isBase64Encoded: false };
}

const wrapped = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
