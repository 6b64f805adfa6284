import { createHmac } from "node:crypto";
import { timingSafeEqual } from "../crypto.js";

/**
 * Signed URLs to the storage function itself (fs and memory blob stores): an HMAC over the operation,
 * path, content type, exact size and expiry, so a URL uploads one file of one type and size, once
 * valid, for a short time.
 */
export interface SignedBlobRequest {
  op: "put" | "get";
  path: string;
  type: string;
  size: number;
  /** Expiry, epoch seconds. */
  exp: number;
}

const fields = (r: SignedBlobRequest) => [r.op, r.path, r.type, String(r.size), String(r.exp)].join("\n");

export function blobSigner(secret: string) {
  const key = createHmac("sha256", "edgeback-storage-url").update(secret).digest();
  const sign = (request: SignedBlobRequest) => createHmac("sha256", key).update(fields(request)).digest("hex");
  return {
    /** The query string of a signed request. */
    query(request: SignedBlobRequest): string {
      const params = new URLSearchParams({
        op: request.op,
        path: request.path,
        type: request.type,
        size: String(request.size),
        exp: String(request.exp),
        sig: sign(request),
      });
      return params.toString();
    },
    /** The request a query string signs, if the signature holds and has not expired. */
    verify(params: URLSearchParams, nowSeconds: number): SignedBlobRequest | null {
      const op = params.get("op");
      const request = {
        op: op === "put" || op === "get" ? op : "get",
        path: params.get("path") ?? "",
        type: params.get("type") ?? "",
        size: Number(params.get("size")),
        exp: Number(params.get("exp")),
      } satisfies SignedBlobRequest;
      const given = params.get("sig") ?? "";
      if (op !== request.op || !timingSafeEqual(given, sign(request))) return null;
      return Number.isInteger(request.exp) && request.exp >= nowSeconds ? request : null;
    },
  };
}
