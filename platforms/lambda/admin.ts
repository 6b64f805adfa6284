import { createAdminApp } from "../../functions/admin/app.js";
import { lambdaHandler } from "./handler.js";

export const handler = lambdaHandler(createAdminApp, { required: ["ADMIN_TOKEN"], rateLimited: false });
