import { createDataApp } from "../functions/data/app";
import { vercelHandlers } from "../platforms/vercel";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createDataApp);
