import type { S3Config } from "./s3";

/** S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE. */
export function loadS3Config(env: Record<string, string | undefined>): {
  s3: S3Config | undefined;
  problems: string[];
} {
  const value = (name: string) => env[name]?.trim() || undefined;
  const bucket = value("S3_BUCKET");
  if (!bucket) return { s3: undefined, problems: [] };
  const problems: string[] = [];
  const accessKeyId = value("S3_ACCESS_KEY_ID");
  const secretAccessKey = value("S3_SECRET_ACCESS_KEY");
  for (const [name, present] of [
    ["S3_ACCESS_KEY_ID", accessKeyId],
    ["S3_SECRET_ACCESS_KEY", secretAccessKey],
  ] as const) {
    if (!present) problems.push(`${name}: required when S3_BUCKET is set`);
  }
  const endpoint = value("S3_ENDPOINT");
  if (endpoint && !/^https?:\/\/\S+$/.test(endpoint)) problems.push("S3_ENDPOINT: must be an http(s) URL");
  const s3: S3Config = {
    bucket,
    region: value("S3_REGION") ?? "auto",
    endpoint,
    accessKeyId: accessKeyId ?? "",
    secretAccessKey: secretAccessKey ?? "",
    forcePathStyle: ["1", "true", "yes"].includes((value("S3_FORCE_PATH_STYLE") ?? "").toLowerCase()),
  };
  return { s3: problems.length === 0 ? s3 : undefined, problems };
}
