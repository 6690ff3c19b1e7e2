/**
 * Talking to the Kubernetes API server: credentials (external or in-cluster,
 * with rotating token files read within the caller's deadline), and a small
 * client: `node:http` over a connection `Deno.startTls` has verified against
 * a configurable name (kubeadm certificates carry no 127.0.0.1), one
 * kept-alive connection, JSON helpers whose failures are typed
 * (`isNotFound`, `isConflict`, `isForbidden`, ... from the `Status` body).
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
 * const lease = await client.getJson(
 *   "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ha-vip",
 * ).catch((err) => isNotFound(err) ? undefined : Promise.reject(err));
 * client.close();
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
  type JsonResponse,
  PATCH_TYPES,
  type TcpCheckOptions,
} from "./_client.ts";
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
} from "./_credentials.ts";
export {
  AbortedError,
  ApiError,
  type ApiErrorKind,
  ConnectionRefusedError,
  CredentialsError,
  type CredentialsFailure,
  HttpStatusError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isNotExist,
  isNotFound,
  isTooManyRequests,
  isUnauthorized,
  type KubeStatus,
  NetworkError,
  ProtocolError,
  type RequestPhase,
  type StatusCause,
  type StatusDetails,
  TimeoutError,
  TlsError,
  type TlsFailureReason,
} from "./_errors.ts";
export { type LogFields, type Logger, nullLogger } from "./_logger.ts";
export { REDACTED, redactSecret, Secret } from "./_secret.ts";
export { parseKubeStatus, statusError } from "./_status.ts";
export { type FileReader, MAX_FILE_BYTES } from "./_watched_file.ts";
