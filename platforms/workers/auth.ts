import { createAuthApp } from "../../functions/auth/app";
import { workerEntry } from "./entry";

export default workerEntry(createAuthApp);
