/**
 * The Lease backend's side of the API: the machine's `get` / `create` /
 * `update` actions as requests to this node's API server, and every
 * answer classified as the machine's {@link ApiResult}. A 401 or 403 says
 * which RBAC rule is missing; a 2xx body that is not a valid Lease is an
 * error naming the field, never a lease to act on.
 */
import { ApiError, HttpStatusError } from "../../k8s/mod.ts";
import {
  type ApiResult,
  decodeLease,
  encodeLease,
  type LeaseAction,
  LeaseDecodeError,
} from "../../lease/mod.ts";
import type { LocalApi } from "../_contract.ts";

/** Options of {@link LeaseApi}. */
export interface LeaseApiOptions {
  /** This node's API server. */
  transport: LocalApi;
  /** The Lease's namespace. */
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** Per-request time limit (the backend uses the retry period). */
  timeoutMs: number;
  /** Where the example RBAC lives, for 401/403 messages. */
  rbacHint?: string;
}

/** The RBAC rule lease mode needs, in words. */
export function rbacRule(namespace: string): string {
  return `get, create and update on leases (coordination.k8s.io) in the namespace "${namespace}"`;
}

const DEFAULT_RBAC_HINT =
  "`ha-vip manifest rbac | kubectl apply -f -` (examples/kubernetes/rbac.yaml) grants it to the ha-vip service account";

/** Lease requests for one Lease, answers as {@link ApiResult}s. */
export class LeaseApi {
  readonly #o: LeaseApiOptions;
  readonly #collection: string;
  readonly #item: string;

  /** Requests for the Lease `options.namespace`/`options.name`. */
  constructor(options: LeaseApiOptions) {
    this.#o = options;
    const ns = encodeURIComponent(options.namespace);
    this.#collection = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    this.#item = `${this.#collection}/${encodeURIComponent(options.name)}`;
  }

  /** `kube-system/ha-vip`, for messages. */
  get description(): string {
    return `${this.#o.namespace}/${this.#o.name}`;
  }

  /** Performs a request action of the machine; never throws. */
  async perform(
    action: Extract<LeaseAction, { type: "get" | "create" | "update" }>,
    signal?: AbortSignal,
  ): Promise<ApiResult> {
    const target = { name: this.#o.name, namespace: this.#o.namespace };
    const opts = { timeoutMs: this.#o.timeoutMs, signal };
    const verb = action.type;
    try {
      let body: unknown;
      if (action.type === "get") {
        body = await this.#o.transport.getJson(this.#item, opts);
      } else if (action.type === "create") {
        body = await this.#o.transport.postJson(
          this.#collection,
          encodeLease(target, action.record),
          opts,
        );
      } else {
        body = await this.#o.transport.putJson(
          this.#item,
          encodeLease(target, action.record, action.base, {
            releasedBy: action.releasedBy,
          }),
          opts,
        );
      }
      return { kind: "lease", lease: decodeLease(body, target) };
    } catch (err) {
      return this.#classify(err, verb);
    }
  }

  #classify(err: unknown, verb: "get" | "create" | "update"): ApiResult {
    const what = `${verb} lease ${this.description}`;
    if (err instanceof HttpStatusError) {
      if (err.status === 404) return { kind: "notFound" };
      if (err.status === 409) return { kind: "conflict" };
      const rule = rbacRule(this.#o.namespace);
      const hint = this.#o.rbacHint ?? DEFAULT_RBAC_HINT;
      if (err.status === 403) {
        return {
          kind: "error",
          message:
            `${what}: 403 Forbidden: the token's user lacks the RBAC rule lease mode needs: ${rule}; ${hint}`,
        };
      }
      if (err.status === 401) {
        return {
          kind: "error",
          message:
            `${what}: 401 Unauthorized: the API server does not accept the token (wrong, expired, or none); lease mode needs a token whose user has ${rule}; ${hint}`,
        };
      }
      return { kind: "error", message: `${what}: ${err.message}` };
    }
    if (err instanceof LeaseDecodeError) {
      return {
        kind: "error",
        message:
          `${what}: the API server answered with an invalid Lease: ${err.message}`,
      };
    }
    if (err instanceof ApiError) {
      return { kind: "error", message: `${what}: ${err.message}` };
    }
    return {
      kind: "error",
      message: `${what}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}
