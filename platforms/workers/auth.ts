import { createAuthApp } from "../../functions/auth/app.js";
import { workerEntry } from "./entry.js";

export default workerEntry(createAuthApp);
