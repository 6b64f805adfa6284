import type { Hono } from "hono";
import { type APIGatewayProxyResult, handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { AppEnv } from "../../shared/app";
import type { Deps } from "../../shared/deps";
import { instanceApp } from "../node";

/** An AWS Lambda handler (API Gateway HTTP API, payload v2) for one function. */
export function lambdaHandler(createApp: (deps: Deps) => Hono<AppEnv>) {
  const app = instanceApp(createApp);
  return async (event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> =>
    handle(await app())(event, context);
}
