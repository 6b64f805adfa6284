import { createAuthApp } from "../functions/auth/app.js";
import { vercelHandlers } from "../platforms/vercel.js";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createAuthApp);
