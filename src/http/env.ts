// Hono context variables shared by the middlewares and routes.
import type { Principal } from './auth.js';

export interface AppEnv {
  Variables: {
    principal: Principal;
  };
}
