import { createAdminApp } from "../../functions/admin/app.js";
import { workerEntry } from "./entry.js";

export default workerEntry(createAdminApp, { required: ["ADMIN_TOKEN"], rateLimited: false });
