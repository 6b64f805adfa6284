import { createAuthApp } from "../../functions/auth/app";
import { lambdaHandler } from "./handler";

export const handler = lambdaHandler(createAuthApp);
