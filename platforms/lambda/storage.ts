import { createStorageApp } from "../../functions/storage/app";
import { lambdaHandler } from "./handler";

export const handler = lambdaHandler(createStorageApp, { files: true });
