import { createLocalApp } from "../../shared/local-app.js";
import { workerEntry } from "./entry.js";

/** All four functions in one Worker over one store: `wrangler dev` previews and the workerd tests. */
export default workerEntry(createLocalApp, { required: ["ADMIN_TOKEN"], files: true });
