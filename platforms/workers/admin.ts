import { createAdminApp } from "../../functions/admin/app";
import { workerEntry } from "./entry";

export default workerEntry(createAdminApp, { required: ["ADMIN_TOKEN"] });
