/**
 * The blob-store port: file bytes by path. Adapters: `s3` (S3, R2, MinIO), `fs` (local server), `memory`
 * (tests, workerd), and `none` (a production admin function without S3: every operation fails).
 */
export interface StoredBlob {
  body: ReadableStream<Uint8Array>;
  /** Bytes in `body`: the object's size, or fewer when a range was asked for. */
  size: number;
  contentType: string;
}

/** Part of an object: `length` bytes from `offset` (fewer where the object ends sooner). */
export interface ByteRange {
  offset: number;
  length: number;
}

/** A URL a client may use directly (presigned), with the headers it must send. */
export interface SignedRequest {
  url: string;
  method: "PUT" | "GET";
  headers: Record<string, string>;
}

export interface BlobStore {
  readonly kind: "s3" | "fs" | "memory" | "none";
  put(path: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes, or only `range` of them (a file's signature without reading it all); null when absent. */
  get(path: string, range?: ByteRange): Promise<StoredBlob | null>;
  /** Size and type of a stored object, or null. */
  head(path: string): Promise<{ size: number; contentType: string } | null>;
  delete(path: string): Promise<void>;
  /** Copies the object at `from` (its bytes and type) to `to`, replacing what was there; false when `from` is absent. */
  copy(from: string, to: string): Promise<boolean>;
  /**
   * A direct upload the client makes itself, bound to this path, type and exact size; s3 signs it
   * for the bucket, fs and memory return null (the storage function signs its own upload URL).
   */
  presignPut(path: string, contentType: string, size: number, expiresIn: number): Promise<SignedRequest | null>;
  /**
   * A short-lived download URL (s3) answering with `contentType` and `contentDisposition`, signed as of
   * `validity.from` and valid until `validity.until` (epoch seconds): the same URL for the same
   * validity. Null when the storage function serves the bytes itself.
   */
  presignGet(path: string, validity: Validity, contentType: string, contentDisposition: string): Promise<string | null>;
}

/**
 * The blob store cannot answer now (unreachable, timed out, 5xx or 429 after its retries): the
 * request answers 503 SERVICE_UNAVAILABLE. Other failures stay plain errors (500).
 */
export class BlobStoreUnavailableError extends Error {
  constructor(message = "Blob store unavailable", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BlobStoreUnavailableError";
  }
}

/** When a signed URL starts and stops working, in epoch seconds. */
export interface Validity {
  from: number;
  until: number;
}
