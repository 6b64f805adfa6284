import { createStorageApp } from "../../functions/storage/app";
import { workerEntry } from "./entry";

export default workerEntry(createStorageApp);
