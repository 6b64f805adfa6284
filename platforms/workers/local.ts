import { createLocalApp } from "../../shared/local-app";
import { workerEntry } from "./entry";

/** All four functions in one Worker over one store: `wrangler dev` previews and the workerd tests. */
export default workerEntry(createLocalApp, { required: ["ADMIN_TOKEN"] });
