import { createDataApp } from "../../functions/data/app.js";
import { lambdaHandler } from "./handler.js";

export const handler = lambdaHandler(createDataApp);
