/** An API Gateway HTTP API v2 event (payload v2), as Lambda hands it to a handler. */
export function event(
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: unknown,
  rawQueryString = "",
) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: { "content-type": "application/json", host: "api.example.com", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.com",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "test" },
      requestId: "req",
      routeKey: "$default",
      stage: "$default",
      time: "22/Nov/2026:00:00:00 +0000",
      timeEpoch: 0,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** An HTTP API event's request as an API Gateway REST API event (payload v1, Lambda proxy integration). */
export function restEvent(v2: ReturnType<typeof event>) {
  const { method, path, sourceIp } = v2.requestContext.http;
  return {
    resource: "/{proxy+}",
    path,
    httpMethod: method,
    headers: v2.headers,
    multiValueHeaders: Object.fromEntries(Object.entries(v2.headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: "/{proxy+}",
      httpMethod: method,
      path: `/prod${path}`,
      stage: "prod",
      domainName: v2.requestContext.domainName,
      identity: { sourceIp, userAgent: "test" },
      requestId: "req",
      accountId: "123456789012",
      apiId: "api",
    },
    body: v2.body ?? null,
    isBase64Encoded: false,
  };
}
