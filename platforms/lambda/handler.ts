import type { Hono } from "hono";
import { type APIGatewayProxyResult, handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { AppEnv } from "../../shared/app.js";
import type { FunctionNeeds } from "../../shared/config.js";
import type { Deps } from "../../shared/deps.js";
import { instanceApp } from "../node.js";

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
  return async (event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> =>
    handle(await app(), { isContentTypeBinary })(event, context);
}
