/**
 * Observability: structured logs with secret redaction (metrics and the
 * status endpoint join here).
 *
 * @module
 */
export {
  createLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
  redact,
  registerSecret,
  silentLogger,
} from "./log.ts";
export {
  Metrics,
  type ObserveServerOptions,
  parseHostPort,
  serveObservability,
} from "./metrics.ts";
