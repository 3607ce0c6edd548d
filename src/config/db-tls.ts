// The `tls` key of a source or sink: how Sluice's connection to that database is encrypted and
// how it checks the server. Mapped to each driver by its dialect (src/sql/sql-tls.ts).
import { z } from 'zod';

export const pemOrFile = z
  .string()
  .min(1)
  .describe('A PEM file path, or the PEM text itself (e.g. from ${file:/run/secrets/name})');

export const dbTlsSchema = z
  .strictObject({
    mode: z
      .enum(['verify-full', 'verify-ca', 'require', 'disable'])
      .default('verify-full')
      .describe(
        'verify-full: encrypted, the chain must reach `ca` (or the system CAs) and the certificate must name the host; verify-ca: chain only; require: encrypted, not checked (never in production); disable: plain',
      ),
    ca: pemOrFile.optional().describe('CA certificate(s) the server certificate must chain to (PEM)'),
    cert: pemOrFile.optional().describe('Client certificate for mutual TLS (PEM)'),
    key: pemOrFile.optional().describe('Private key of the client certificate (PEM)'),
    servername: z
      .string()
      .optional()
      .describe("Name the server certificate must carry, when it differs from the URL's host"),
    wallet: z
      .string()
      .optional()
      .describe('Oracle only: directory holding ewallet.pem (Thin mode wallet) for TCPS'),
    walletPassword: z.string().optional().describe('Oracle only: password of the wallet'),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'set cert and key together (mutual TLS), or neither',
  })
  .describe('TLS to this database; absent: as the URL says (plain unless it asks for TLS)');

export type DbTlsConfig = z.output<typeof dbTlsSchema>;
