/**
 * Config sync: the primary pushes the synced areas of its site config to the
 * secondaries over XML-RPC (HTTPS, basic auth, pinned certificates); each
 * receiver validates, applies every service atomically, rolls back on
 * failure, and answers with its revision or the exact error.
 *
 * Pure:  areas.ts (split/merge/hash), receive.ts (accept or fault), protocol.ts
 *        (messages, versions), transaction.ts (all-or-nothing over injected
 *        services), pins.ts (certificate trust), diff.ts, peer-addresses.ts,
 *        coalesce.ts (one push at a time per peer, latest wins)
 * Shell: config-sync.ts (class ConfigSync), endpoint.ts (the HTTPS server's
 *        lifecycle), peers.ts (pushing, pinning, peer records), firewall-unit.ts
 *        and election-unit.ts (services), history.ts and state.ts (files),
 *        methods.ts (XML-RPC table), control.ts and cli.ts (carpd's control
 *        socket and CLI), runner.ts (standalone, for rigs)
 */
export * from './config-sync.js';
export * from './areas.js';
export * from './protocol.js';
export * from './receive.js';
export * from './transaction.js';
export * from './pins.js';
export * from './diff.js';
export * from './history.js';
export * from './state.js';
export * from './control.js';
export * from './cli.js';
export { firewallUnit, type FirewallUnitOptions } from './firewall-unit.js';
export { electionUnit, type Reconfigurable } from './election-unit.js';
export { nodeAddressWarnings } from './peer-addresses.js';
export { syncMethods, type SyncEndpoint } from './methods.js';
export { Coalescer } from './coalesce.js';
export { Endpoint, type EndpointStatus } from './endpoint.js';
export { Peers, type PushOutcome } from './peers.js';
