import { createAuthApp } from "../functions/auth/app";
import { vercelHandlers } from "../platforms/vercel";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD } = vercelHandlers(createAuthApp);
