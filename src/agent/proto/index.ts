// carpd's sans-IO protocol core: CARP and VRRPv3 codecs and the election.
export * from './inet.js';
export * from './carp.js';
export * from './vrrp3.js';
export * from './demotion.js';
export * from './election.js';
export * from './node.js';
