import { createDataApp } from "../../functions/data/app.js";
import { workerEntry } from "./entry.js";

export default workerEntry(createDataApp);
