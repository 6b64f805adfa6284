import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

/** The access keys s3rver accepts. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

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
