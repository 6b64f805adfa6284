import { createDataApp } from "../../functions/data/app";
import { lambdaHandler } from "./handler";

export const handler = lambdaHandler(createDataApp);
