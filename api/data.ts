import { createDataApp } from "../functions/data/app.js";
import { vercelHandlers } from "../platforms/vercel.js";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createDataApp);
