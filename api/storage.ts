import { createStorageApp } from "../functions/storage/app.js";
import { vercelHandlers } from "../platforms/vercel.js";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createStorageApp, { files: true });
