import { createAdminApp } from "../functions/admin/app.js";
import { vercelHandlers } from "../platforms/vercel.js";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createAdminApp, {
  required: ["ADMIN_TOKEN"],
  rateLimited: false,
});
