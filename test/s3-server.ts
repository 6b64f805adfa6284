import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsV4Signer } from "aws4fetch";
import S3rver from "s3rver";
import { s3BlobStore } from "../shared/storage/s3.js";

/** The access keys s3rver accepts. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** The s3 blob store for the bucket `files` at `endpoint` (s3rver, or a stand-in speaking its REST). */
export const testBucket = (endpoint: string, options: { timeoutMs?: number } = {}) =>
  s3BlobStore({ bucket: "files", region: "us-east-1", endpoint, forcePathStyle: true, ...S3RVER_KEYS }, options);

/** A real S3-compatible server (s3rver) on a loopback port, with one bucket `files`, in a fresh directory. */
export async function startS3rver(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "edgeback-s3rver-"));
  const s3rver = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: "files", configs: [] }],
  });
  const { port } = await s3rver.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await s3rver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** s3rver behind `gateway`, which sees each request and answers it, passing it on to s3rver or not. */
async function startBehind(gateway: Gateway): Promise<{ endpoint: string; close(): Promise<void> }> {
  const s3rver = await startS3rver();
  const server = serveGateway(s3rver.endpoint, gateway);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.close();
      await s3rver.close();
    },
  };
}

/**
 * s3rver behind a gateway that checks presigned requests' SigV4 signatures as S3 does: s3rver accepts
 * them unchecked, the gateway recomputes each signature over the signed headers the request actually
 * carries (and its real body length) before forwarding.
 */
export const startSignedS3 = () => startBehind(checkingSignatures);

/**
 * s3rver answering as AWS S3 answers credentials without s3:ListBucket: a GET or HEAD of a missing
 * key is 403 AccessDenied (a HEAD's without a body), not 404.
 */
export const startS3WithoutListBucket = () =>
  startBehind(async ({ req }, forward) => {
    const answer = await forward();
    if (answer.status !== 404 || (req.method !== "GET" && req.method !== "HEAD")) return answer;
    await answer.body?.cancel();
    const denied =
      req.method === "HEAD" ? null : "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
    return new Response(denied, { status: 403, headers: { "content-type": "application/xml" } });
  });

/** A request as a gateway sees it: its URL and whole body. */
interface Exchange {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
}
/** Answers a request; `forward` passes it on to s3rver as it came. */
type Gateway = (exchange: Exchange, forward: () => Promise<Response>) => Promise<Response>;

function serveGateway(target: string, gateway: Gateway): Server {
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const forward = () =>
      fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== "host" && typeof req.headers[k] === "string"),
        ) as Record<string, string>,
        ...(body.length > 0 ? { body } : {}),
      });
    const answer = await gateway({ req, url, body }, forward);
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
}

/** Checks a presigned request's SigV4 signature (as S3 would), then forwards it to s3rver. */
async function checkingSignatures({ req, url, body }: Exchange, forward: () => Promise<Response>): Promise<Response> {
  const given = url.searchParams.get("X-Amz-Signature");
  if (given) {
    const signed = (url.searchParams.get("X-Amz-SignedHeaders") ?? "").split(";").filter((h) => h !== "host");
    const headers: Record<string, string> = {};
    for (const name of signed)
      headers[name] = name === "content-length" ? String(body.length) : String(req.headers[name] ?? "");
    const unsigned = new URL(url);
    for (const name of [
      "X-Amz-Signature",
      "X-Amz-Date",
      "X-Amz-Algorithm",
      "X-Amz-Credential",
      "X-Amz-SignedHeaders",
    ]) {
      unsigned.searchParams.delete(name);
    }
    const signer = new AwsV4Signer({
      ...S3RVER_KEYS,
      method: req.method,
      url: unsigned.toString(),
      headers,
      service: "s3",
      region: "us-east-1",
      signQuery: true,
      allHeaders: true,
      datetime: url.searchParams.get("X-Amz-Date") ?? "",
    });
    if ((await signer.signature()) !== given) {
      return new Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", {
        status: 403,
        headers: { "content-type": "application/xml" },
      });
    }
  }
  return forward();
}
