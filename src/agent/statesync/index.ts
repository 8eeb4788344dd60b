/**
 * State sync: conntrackd (FTFW over the SYNC link) as the engine, the way
 * pfsync is on pfSense.
 *
 *   stateSyncTransport    how the nodes talk (shared with the firewall's SYNC rules)
 *   renderConntrackdConf  conntrackd.conf for one node
 *   transitionSteps       election transition -> ordered conntrackd commands
 *   StateSyncTracker      per-VIP election states -> node-wide transitions
 *   runConntrackd/runSteps  the exec shell (client commands through the UNIX socket)
 *   parseConntrackdStats  `conntrackd -s` for `carpd status`
 */
export * from './transport.js';
export * from './conntrackd-conf.js';
export * from './driver.js';
export * from './stats.js';
