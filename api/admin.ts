import { createAdminApp } from "../functions/admin/app";
import { vercelHandlers } from "../platforms/vercel";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createAdminApp, {
  required: ["ADMIN_TOKEN"],
});
