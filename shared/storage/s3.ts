import { AwsClient } from "aws4fetch";
import { type BlobStore, BlobStoreUnavailableError } from "./types.js";

/** Where the bucket is and how to reach it (AWS S3, Cloudflare R2, MinIO). */
export interface S3Config {
  bucket: string;
  region: string;
  endpoint: string | undefined;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

/** How long one S3 call may take, retry included, before it fails (ms); a PUT gets more per byte. */
const DEFAULT_TIMEOUT_MS = 5_000;
/** The slowest transfer a PUT is given time for: 1 MiB/s (100 MiB → 100 s on top of the timeout). */
const MIN_BYTES_PER_MS = (1024 * 1024) / 1000;
/**
 * How many timeouts a server-side copy gets: no bytes pass through us, but the bucket copies up to
 * MAX_FILE_SIZE (100 MiB) before it answers.
 */
const COPY_TIMEOUTS = 4;

/**
 * What a refusal (403) says in the log. AWS answers a GET or HEAD of a missing key 403, not 404, to
 * credentials without s3:ListBucket. That 403 is not read as "absent": a HEAD's answer has no body
 * that could tell it from a refusal of an object that is there (credentials without s3:GetObject, a
 * wrong key, a bucket policy), and reading those as absent would release direct uploads whose bytes
 * were stored, and delete them. It stays an error that names what to grant (README, S3 permissions).
 */
const REFUSED =
  "the bucket refused the credentials: they need s3:GetObject, s3:PutObject and s3:DeleteObject on its " +
  "objects and s3:ListBucket on the bucket, without which a missing key is answered 403, not 404";

/**
 * Blobs in an S3-compatible bucket, signed with aws4fetch (SigV4 over fetch: a few KiB, runs on
 * Workers too). Presigned PUTs bind the content type and the exact length into the signature.
 * Each call is retried once (5xx, 429) and bounded by `timeoutMs`; an unreachable, failing or
 * silent bucket throws BlobStoreUnavailableError (503), other refusals a plain Error (500).
 */
export function s3BlobStore(config: S3Config, options: { timeoutMs?: number } = {}): BlobStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    service: "s3",
    region: config.region,
    retries: 1,
  });
  const endpoint = (config.endpoint ?? `https://s3.${config.region}.amazonaws.com`).replace(/\/$/, "");
  const keyOf = (path: string) => path.split("/").map(encodeURIComponent).join("/");
  const urlOf = (path: string) => {
    const key = keyOf(path);
    if (config.forcePathStyle) return `${endpoint}/${config.bucket}/${key}`;
    const url = new URL(endpoint);
    return `${url.protocol}//${config.bucket}.${url.host}/${key}`;
  };
  const failed = async (res: Response, what: string) =>
    new Error(
      `S3 ${what} failed: ${res.status} ${(await res.text()).slice(0, 200)}${res.status === 403 ? ` (${REFUSED})` : ""}`,
    );
  /** One signed call, bounded in time; the bucket being down, slow or overloaded is BlobStoreUnavailableError. */
  async function call(what: string, url: string, init: RequestInit = {}, timeout = timeoutMs): Promise<Response> {
    let res: Response;
    try {
      res = await client.fetch(url, { ...init, signal: AbortSignal.timeout(timeout) });
    } catch (error) {
      throw new BlobStoreUnavailableError(`S3 ${what} failed: ${String(error)}`, { cause: error });
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => undefined);
      throw new BlobStoreUnavailableError(`S3 ${what} failed: ${res.status}`);
    }
    return res;
  }

  return {
    kind: "s3",
    async put(path, bytes, contentType) {
      const init = { method: "PUT", body: bytes as Uint8Array<ArrayBuffer>, headers: { "content-type": contentType } };
      const res = await call("PUT", urlOf(path), init, timeoutMs + Math.ceil(bytes.length / MIN_BYTES_PER_MS));
      if (!res.ok) throw await failed(res, "PUT");
    },
    async get(path, range) {
      const last = range && range.offset + range.length - 1;
      const init = range ? { headers: { range: `bytes=${range.offset}-${last}` } } : {};
      const res = await call("GET", urlOf(path), init);
      if (res.status === 404) return null;
      if (!res.ok || !res.body) throw await failed(res, "GET");
      const size = Number(res.headers.get("content-length") ?? 0);
      return { body: res.body, size, contentType: res.headers.get("content-type") ?? "application/octet-stream" };
    },
    async head(path) {
      const res = await call("HEAD", urlOf(path), { method: "HEAD" });
      if (res.status === 404) return null;
      if (!res.ok) throw await failed(res, "HEAD");
      return {
        size: Number(res.headers.get("content-length") ?? 0),
        contentType: res.headers.get("content-type") ?? "application/octet-stream",
      };
    },
    async delete(path) {
      const res = await call("DELETE", urlOf(path), { method: "DELETE" });
      if (!res.ok && res.status !== 404) throw await failed(res, "DELETE");
    },
    async copy(from, to) {
      const init = { method: "PUT", headers: { "x-amz-copy-source": `/${config.bucket}/${keyOf(from)}` } };
      const res = await call("COPY", urlOf(to), init, timeoutMs * COPY_TIMEOUTS);
      if (res.status === 404) {
        await res.body?.cancel().catch(() => undefined);
        return false;
      }
      if (!res.ok) throw await failed(res, "COPY");
      // A copy that fails once S3 has begun answering is a 200 whose body is an <Error> (InternalError…).
      const answer = await res.text().catch((error: unknown) => {
        throw new BlobStoreUnavailableError(`S3 COPY failed: ${String(error)}`, { cause: error });
      });
      if (answer.includes("<Error>")) throw new BlobStoreUnavailableError(`S3 COPY failed: ${answer.slice(0, 200)}`);
      return true;
    },
    async presignPut(path, contentType, size, expiresIn) {
      const headers = { "content-type": contentType, "content-length": String(size) };
      const signed = await client.sign(`${urlOf(path)}?X-Amz-Expires=${expiresIn}`, {
        method: "PUT",
        headers,
        aws: { signQuery: true, allHeaders: true },
      });
      return { url: signed.url, method: "PUT", headers };
    },
    async presignGet(path, validity, contentType, contentDisposition) {
      // The file's type as recorded (a direct upload declared as octet-stream is stored so in the
      // bucket), and its disposition: an SVG or HTML file is a download there too, never a page.
      // Without spaces (`attachment;filename=…`): some S3-compatible stores sign a space otherwise.
      const query = new URLSearchParams({
        "X-Amz-Expires": String(validity.until - validity.from),
        "response-content-type": contentType,
        "response-content-disposition": contentDisposition.replace(/;\s+/g, ";"),
      });
      const datetime = new Date(validity.from * 1000).toISOString().replace(/[:-]|\.\d{3}/g, "");
      const signed = await client.sign(`${urlOf(path)}?${query}`, {
        method: "GET",
        aws: { signQuery: true, datetime },
      });
      return signed.url;
    },
  };
}
