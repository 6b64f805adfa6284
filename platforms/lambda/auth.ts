import { createAuthApp } from "../../functions/auth/app.js";
import { lambdaHandler } from "./handler.js";

export const handler = lambdaHandler(createAuthApp);
