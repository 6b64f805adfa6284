import { createStorageApp } from "../../functions/storage/app.js";
import { workerEntry } from "./entry.js";

export default workerEntry(createStorageApp, { files: true });
