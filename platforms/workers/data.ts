import { createDataApp } from "../../functions/data/app";
import { workerEntry } from "./entry";

export default workerEntry(createDataApp);
