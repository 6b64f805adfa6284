import type { BlobStore } from "./types.js";

/** Blobs in this instance's memory: tests and workerd previews. */
export function memoryBlobStore(): BlobStore {
  const blobs = new Map<string, { bytes: Uint8Array; contentType: string }>();
  return {
    kind: "memory",
    async put(path, bytes, contentType) {
      blobs.set(path, { bytes: bytes.slice(), contentType });
    },
    async get(path, range) {
      const blob = blobs.get(path);
      if (!blob) return null;
      const bytes = range ? blob.bytes.subarray(range.offset, range.offset + range.length) : blob.bytes;
      return {
        body: new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(),
        size: bytes.length,
        contentType: blob.contentType,
      };
    },
    async head(path) {
      const blob = blobs.get(path);
      return blob ? { size: blob.bytes.length, contentType: blob.contentType } : null;
    },
    async delete(path) {
      blobs.delete(path);
    },
    async copy(from, to) {
      const blob = blobs.get(from);
      if (blob) blobs.set(to, blob); // stored bytes are never changed in place: sharing them is safe
      return blob !== undefined;
    },
    presignPut: async () => null,
    presignGet: async () => null,
  };
}
