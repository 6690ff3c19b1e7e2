/**
 * Test fixtures shared by `tests/`, `lab/` and `bench/`: a simulated
 * kube-apiserver ({@link SimApiServer}) with pluggable route sets, a
 * kubeadm-shaped test PKI ({@link testPki}), network-namespace helpers and
 * agents ({@link withNetns}, {@link NetnsAgent}), the root gate for kernel
 * tests ({@link skipUnlessRoot}), the gate for Debian commands
 * ({@link skipUnlessInstalled}) and CLI runners ({@link runCli}).
 *
 * Processes started inside namespaces import the single files they need
 * (`netns.ts` for agents, `api_server_main.ts` for the standalone server),
 * not this module, to keep what they load small.
 *
 * @module
 */

export {
  type AnonymousMode,
  type ControlCommand,
  PUBLIC_INFO_PATHS,
  READYZ_CHECKS,
  type RecordedRequest,
  SimApiServer,
  type SimApiServerOptions,
  type TokenPolicy,
} from "./api_server.ts";
export {
  jsonResponse,
  type Route,
  type RouteContext,
  type RouteKind,
  type RouteRegistrar,
  type RouteSet,
  statusResponse,
  textResponse,
} from "./api_http.ts";
export {
  type Lease,
  leaseRoutes,
  type LeaseRoutesOptions,
} from "./api_leases.ts";
export { discoveryRoutes } from "./api_discovery.ts";
export { kubeconfig, kubectl } from "./kubectl.ts";
export {
  type HealthTarget,
  MemoryStore,
  RemoteStore,
  serveStore,
  type Store,
  STORE_CHECKS,
  type StoredObject,
  type StoreHealthOptions,
  StoreLink,
  type StoreLinkOptions,
  StoreUnavailableError,
  watchStoreHealth,
  type WriteResult,
} from "./api_store.ts";
export {
  generatePki,
  kubeadmSans,
  loadOrGeneratePki,
  type PkiOptions,
  type TestPki,
  testPki,
} from "./pki.ts";
export {
  addBridge,
  addVeth,
  AgentError,
  type AgentOps,
  createNetns,
  deleteNetns,
  ip,
  ipJson,
  NetnsAgent,
  run,
  serveAgent,
  sysctl,
  uniqueName,
  type VethEnd,
  withAgents,
  withNetns,
} from "./netns.ts";
export { rootSkipReason, skipUnlessRoot } from "./root.ts";
export {
  type CliResult,
  runBinary,
  runCli,
  runInNetns,
  type Spawned,
  spawnInNetns,
} from "./cli.ts";
export { bundleMain } from "./bundle.ts";
export { installed, skipUnlessInstalled } from "./tools.ts";
export {
  addressesOf,
  type AddressEvent,
  type AddressWatch,
  fetchInNetns,
  hasAddress,
  type HaVipProcess,
  type KernelAddress,
  metricIn,
  now,
  type OutputLine,
  presentWithin,
  sleep,
  startHaVip,
  statusIn,
  waitFor,
  watchAddresses,
} from "./daemon_process.ts";
export { ipPacketOf, parsePcap, type Pcap, type PcapFrame } from "./pcap.ts";
