import { createStorageApp } from "../../functions/storage/app.js";
import { lambdaHandler } from "./handler.js";

export const handler = lambdaHandler(createStorageApp, { files: true });
