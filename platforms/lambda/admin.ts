import { createAdminApp } from "../../functions/admin/app";
import { lambdaHandler } from "./handler";

export const handler = lambdaHandler(createAdminApp, { required: ["ADMIN_TOKEN"] });
