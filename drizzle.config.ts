// drizzle-kit configuration: `npm run db:generate` compares the controller's schema with the
// migrations already in migrations/ and writes the next one. The controller applies them at start.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './control-plane/db/schema.ts',
  out: './migrations',
});
