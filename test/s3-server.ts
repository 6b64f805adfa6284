import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
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

/**
 * s3rver behind a gateway that checks presigned requests' SigV4 signatures as S3 does: s3rver accepts
 * them unchecked, the gateway recomputes each signature over the signed headers the request actually
 * carries (and its real body length) before forwarding.
 */
export async function startSignedS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const s3rver = await startS3rver();
  const gateway = signatureGateway(s3rver.endpoint);
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    close: async () => {
      gateway.close();
      await s3rver.close();
    },
  };
}

/** Checks a presigned request's SigV4 signature (as S3 would), then forwards it to s3rver. */
function signatureGateway(target: string): Server {
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
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
        res.writeHead(403, { "content-type": "application/xml" });
        return res.end("<Error><Code>SignatureDoesNotMatch</Code></Error>");
      }
    }
    const forwarded = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== "host" && typeof req.headers[k] === "string"),
      ) as Record<string, string>,
      ...(body.length > 0 ? { body } : {}),
    });
    res.writeHead(forwarded.status, Object.fromEntries(forwarded.headers));
    res.end(Buffer.from(await forwarded.arrayBuffer()));
  });
}
