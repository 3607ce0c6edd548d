// The `api` section: the REST service over mapped legacy tables (DESIGN.md "REST API").
import { z } from 'zod';

export const apiSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port')
      .default('127.0.0.1:8080')
      .describe('Address the REST service listens on'),
    basePath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'expected a path like /api').default('/api'),
    resources: z.record(z.string(), z.unknown()).default({}).describe('Resources by name (see README)'),
  })
  .describe('REST API over the legacy tables');

export type ApiConfig = z.infer<typeof apiSchema>;
