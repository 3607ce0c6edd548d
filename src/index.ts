// What a program embedding Sluice may import, named export by export. Anything not listed here is
// internal and may change without notice.

// Configuration: load → validate → freeze.
export { loadConfig, parseConfig, parseConfigText } from './config/load.js';
export { configSchema, natsSchema, sourceSchema } from './config/schema.js';
export type { NatsConfig, SluiceConfig, SourceConfig } from './config/schema.js';
export { apiSchema, resourceSchema } from './config/api.js';
export type { ApiConfig, ResourceConfig } from './config/api.js';
export { sinkSchema } from './config/sinks.js';
export type { SinkConfig } from './config/sinks.js';

// Running sources (what `sluice run` does) and serving the REST API (what `sluice serve` does).
export { startRuntime } from './pipeline/runtime.js';
export type { Runtime } from './pipeline/runtime.js';
export { createSourceAdapter } from './pipeline/adapters.js';
export { createApp } from './http/app.js';
export type { AppDeps } from './http/app.js';
export { createApiRuntime, createAppFromRuntime, startApi } from './http/server.js';
export type { ApiRuntime } from './http/server.js';
// Sinks: `sluice verify` as a function (the runner starts with startRuntime).
export { runVerify } from './sink/verify-run.js';
export type { VerifyRunOptions, VerifyRunReport } from './sink/verify-run.js';

// Change events: the wire format, its schemas and the one function that builds an event.
export { changeEventSchema, makeChange, opSchema, transactionSchema } from './core/change-event.js';
export type { ChangeEvent, ChangeInput, ChangeOrigin, Op, SourceChange } from './core/change-event.js';
export {
  mysqlSourceSchema,
  oracleSourceSchema,
  pollingSourceSchema,
  postgresSourceSchema,
  sourceInfoSchema,
  sqlserverSourceSchema,
  triggersSourceSchema,
} from './core/source-info.js';
export type {
  Connector,
  ConnectorFields,
  MysqlSourceInfo,
  OracleSourceInfo,
  PollingSourceInfo,
  PostgresSourceInfo,
  SourceInfo,
  SqlserverSourceInfo,
  TriggersSourceInfo,
} from './core/source-info.js';
export { eventSubject, msgId, parseMsgId } from './nats/subjects.js';

// Source adapters: the contract every source kind implements, and its offsets.
export { defaultCapabilities } from './core/source-adapter.js';
export type {
  AnySourceAdapter,
  ChangeBatch,
  Logger,
  PreflightReport,
  SourceAdapter,
  SourceCapabilities,
  SourceContext,
  SourceStatus,
} from './core/source-adapter.js';
export { parseJsonOffset } from './core/offset.js';
export type { OffsetCodec, StoredOffset } from './core/offset.js';

// Errors: each has a stable `code` and says whether a retry can help.
export {
  BridgeError,
  ConfigError,
  NatsUnavailableError,
  OffsetConflictError,
  OffsetLostError,
  PreflightError,
  PublishError,
  SourceUnavailableError,
  errorMessage,
  isRetriable,
} from './core/errors.js';
export type { BridgeErrorOptions } from './core/errors.js';

// Codecs and mapping: database values ↔ API fields.
export { CodecError, codecNames, codecs, createCodec } from './core/codecs.js';
export type { Codec, CodecName, DbValue } from './core/codecs.js';
export { ResourceMapping } from './core/mapping.js';
export type { FieldSpec, MappedField, ResourceSchemas, ResourceSpec } from './core/mapping.js';

export { VERSION } from './version.js';
