import type { Hono } from "hono";
import { type APIGatewayProxyResult, handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { AppEnv } from "../../shared/app";
import type { Deps } from "../../shared/deps";
import { instanceApp } from "../node";

/**
 * Which answers go to API Gateway base64-encoded: all but JSON (JSON is UTF-8 by definition). A
 * stored file served as text (text/plain, CSV, XML) may hold any bytes: sent as a string, hono would
 * decode it as UTF-8 and replace what is not.
 */
const isBinary = (contentType: string) => !/^application\/json\b/i.test(contentType);

/** An AWS Lambda handler (API Gateway HTTP API, payload v2) for one function. */
export function lambdaHandler(createApp: (deps: Deps) => Hono<AppEnv>) {
  const app = instanceApp(createApp);
  return async (event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> =>
    handle(await app(), { isContentTypeBinary: isBinary })(event, context);
}
