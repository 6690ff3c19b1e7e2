/**
 * Talking to the Kubernetes API server: credentials (external or in-cluster,
 * with rotating token files), and a minimal HTTP/1.1 client over
 * `Deno.connect` + `Deno.startTls` that verifies the serving certificate
 * against a configurable name (kubeadm certificates carry no 127.0.0.1).
 *
 * The token never appears in a log line, an error message or the
 * inspect/JSON/string form of any object here.
 *
 * ```ts
 * const creds = await loadCredentials({
 *   apiServer: "https://127.0.0.1:6443",
 *   tokenFile: "/etc/ha-vip/token",
 *   caCertFile: "/etc/kubernetes/pki/ca.crt",
 * });
 * const client = new ApiClient({
 *   url: creds.apiServer,
 *   caCertFile: creds.caCertFile,
 *   tokenSource: creds.tokenSource,
 *   tlsServerName: "kubernetes",
 * });
 * const res = await client.request({ method: "GET", path: "/readyz" });
 * ```
 *
 * @module
 */

export {
  ApiClient,
  type ApiClientOptions,
  type ApiRequest,
  type ApiResponse,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TLS_SERVER_NAME,
  type JsonRequestOptions,
  parseKubeStatus,
  PATCH_TYPES,
  type TcpCheckOptions,
} from "./client.ts";
export {
  anonymousTokenSource,
  type Credentials,
  DEFAULT_SERVICE_ACCOUNT_DIR,
  externalCredentials,
  type ExternalCredentialsOptions,
  fileTokenSource,
  type FileTokenSourceOptions,
  inClusterCredentials,
  type InClusterCredentialsOptions,
  loadCredentials,
  type LoadCredentialsOptions,
  type SecretHook,
  staticTokenSource,
  type TokenOptions,
  type TokenSource,
  unsafeTokenMode,
} from "./credentials.ts";
export {
  AbortedError,
  ApiError,
  type ApiErrorKind,
  ConnectionRefusedError,
  CredentialsError,
  type CredentialsFailure,
  HttpStatusError,
  isConflict,
  isNotExist,
  isNotFound,
  type KubeStatus,
  NetworkError,
  ProtocolError,
  type RequestPhase,
  TimeoutError,
  TlsError,
  type TlsFailureReason,
} from "./errors.ts";
export { type LogFields, type Logger, nullLogger } from "./logger.ts";
export { REDACTED, redactSecret, Secret } from "./secret.ts";
export { type FileReader, MAX_FILE_BYTES } from "./_watched_file.ts";
