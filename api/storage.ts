import { createStorageApp } from "../functions/storage/app";
import { vercelHandlers } from "../platforms/vercel";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createStorageApp);
