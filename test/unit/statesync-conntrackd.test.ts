/**
 * conntrackd.conf rendering and the shared transport decision.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSite, type Site } from '../../src/config/index.js';
import {
  CONNTRACKD_MULTICAST_GROUP,
  CONNTRACKD_PORT,
  StateSyncConfigError,
  ignoredAddresses,
  netlinkBuffers,
  renderConntrackdConf,
  stateSyncTransport,
} from '../../src/agent/statesync/index.js';

const ROOT = new URL('../../../', import.meta.url);
const EXAMPLE = readFileSync(new URL('build/sites/ha-pair.ini', ROOT), 'utf8');
const site = parseSite(EXAMPLE);

function withThirdNode(text: string): Site {
  return parseSite(`${text}\n[node "fw3"]\nrole = secondary\nskew_offset = 200\nWAN = 203.0.113.4/24, 2001:db8:0:1::4/64\nLAN = 192.168.1.4/24, 2001:db8:0:2::4/64\nSYNC = 172.16.1.3/29\n`.replace(/SYNC = 172\.16\.1\.(\d)\/30/g, 'SYNC = 172.16.1.$1/29'));
}

/** The lines of a `Name {` ... `}` block (first match), without the braces. */
function block(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${header} {`);
  assert.ok(start >= 0, `no block "${header}"`);
  const out: string[] = [];
  let depth = 0;
  for (const l of lines.slice(start)) {
    if (l.trim().endsWith('{')) depth++;
    if (l.trim() === '}') depth--;
    if (depth === 0) break;
    out.push(l.trim());
  }
  return out.slice(1);
}

describe('stateSyncTransport', () => {
  it('uses unicast UDP between the two SYNC addresses for a pair', () => {
    assert.deepEqual(stateSyncTransport(site, 'fw1'), {
      kind: 'udp',
      family: 4,
      port: CONNTRACKD_PORT,
      interface: 'SYNC',
      local: '172.16.1.1',
      peers: [{ name: 'fw2', address: '172.16.1.2' }],
    });
    assert.equal(stateSyncTransport(site, 'fw2').local, '172.16.1.2');
  });

  it('uses multicast for a trio, and refuses unicast there', () => {
    const trio = withThirdNode(EXAMPLE);
    const t = stateSyncTransport(trio, 'fw1');
    assert.equal(t.kind, 'multicast');
    assert.equal(t.group, CONNTRACKD_MULTICAST_GROUP);
    assert.deepEqual(t.peers.map((p) => p.address), ['172.16.1.2', '172.16.1.3']);
    assert.throws(() => stateSyncTransport(trio, 'fw1', { transport: 'udp' }), /one peer/);
  });

  it('falls back to IPv6 when the sync link has no IPv4', () => {
    const v6 = parseSite(EXAMPLE.replace('SYNC = 172.16.1.1/30', 'SYNC = fd00:1::1/64').replace('SYNC = 172.16.1.2/30', 'SYNC = fd00:1::2/64'));
    const t = stateSyncTransport(v6, 'fw2');
    assert.equal(t.family, 6);
    assert.equal(t.local, 'fd00:1::2');
    assert.deepEqual(t.peers, [{ name: 'fw1', address: 'fd00:1::1' }]);
    assert.throws(() => stateSyncTransport(v6, 'fw2', { transport: 'multicast' }), StateSyncConfigError);
  });

  it('rejects unknown nodes and bad ports', () => {
    assert.throws(() => stateSyncTransport(site, 'fw9'), /no node "fw9"/);
    assert.throws(() => stateSyncTransport(site, 'fw1', { port: 70000 }), /not 1-65535/);
  });
});

describe('renderConntrackdConf', () => {
  const fw1 = renderConntrackdConf(site, 'fw1');
  const fw2 = renderConntrackdConf(site, 'fw2');

  it('runs FTFW with the external cache and a startup resync', () => {
    const ftfw = block(fw1, 'Mode FTFW');
    assert.ok(ftfw.includes('DisableExternalCache off'));
    assert.ok(ftfw.includes('StartupResync on'));
    assert.ok(ftfw.includes('PurgeTimeout 60'));
    assert.ok(ftfw.includes('ResendQueueSize 262144'));
    assert.ok(!ftfw.some((l) => l.startsWith('CommitTimeout')), 'CommitTimeout unset by default');
    assert.ok(block(renderConntrackdConf(site, 'fw1', { commitTimeout: 180 }), 'Mode FTFW').includes('CommitTimeout 180'));
  });

  it('sends unicast UDP between the SYNC addresses, mirrored on the two nodes', () => {
    assert.deepEqual(block(fw1, 'UDP Default').slice(0, 4), ['IPv4_address 172.16.1.1', 'IPv4_Destination_Address 172.16.1.2', 'Port 3780', 'Interface SYNC']);
    assert.deepEqual(block(fw2, 'UDP Default').slice(0, 4), ['IPv4_address 172.16.1.2', 'IPv4_Destination_Address 172.16.1.1', 'Port 3780', 'Interface SYNC']);
    assert.ok(block(fw1, 'UDP Default').includes('Checksum on'));
    assert.ok(!fw1.includes('Multicast'));
  });

  it('sends multicast for a trio', () => {
    const text = renderConntrackdConf(withThirdNode(EXAMPLE), 'fw3');
    assert.deepEqual(block(text, 'Multicast Default').slice(0, 4), ['IPv4_address 225.0.0.50', 'Group 3780', 'IPv4_interface 172.16.1.3', 'Interface SYNC']);
  });

  it('takes the port, device and paths it is given', () => {
    const text = renderConntrackdConf(site, 'fw1', {
      stateSync: { port: 3781 },
      syncDevice: 'veth-sync',
      socketPath: '/run/ns1/conntrackd.ctl',
      lockFile: '/run/ns1/conntrackd.lock',
      logFile: false,
      syslog: 'local3',
    });
    assert.ok(block(text, 'UDP Default').includes('Port 3781'));
    assert.ok(block(text, 'UDP Default').includes('Interface veth-sync'));
    assert.deepEqual(block(text, 'UNIX'), ['Path /run/ns1/conntrackd.ctl']);
    assert.match(text, /^\tLockFile \/run\/ns1\/conntrackd\.lock$/m);
    assert.match(text, /^\tLogFile off$/m);
    assert.match(text, /^\tSyslog local3$/m);
    assert.throws(() => renderConntrackdConf(site, 'fw1', { socketPath: 'relative.ctl' }), /absolute path/);
    assert.throws(() => renderConntrackdConf(site, 'fw1', { socketPath: '/tmp/a b.ctl' }), /absolute path/);
  });

  it('sizes the netlink buffer for the table and asks for reliable events', () => {
    assert.match(fw1, /^\tNetlinkBufferSize 67108864$/m);
    assert.match(fw1, new RegExp(`^\\tNetlinkBufferSizeMaxGrowth ${262144 * 1536}$`, 'm'));
    assert.match(fw1, /^\tNetlinkEventsReliable on$/m);
    assert.match(fw1, /^\tNetlinkOverrunResync off$/m);
    assert.match(fw1, /^\tHashLimit 524288$/m);
    const small = renderConntrackdConf(site, 'fw1', { conntrackMax: 16384 });
    assert.match(small, /^\tNetlinkBufferSizeMaxGrowth 67108864$/m, 'never below the initial size');
    assert.match(small, /^\tHashLimit 32768$/m);
    assert.deepEqual(netlinkBuffers(1_000_000), { initial: 64 * 1024 * 1024, maxGrowth: 1_536_000_000 });
  });

  it('filters in user space and ignores the cluster\'s own endpoints, not the networks it routes', () => {
    const filter = block(fw1, 'Filter From Userspace');
    assert.deepEqual(block(fw1, 'Protocol Accept'), ['TCP', 'UDP', 'SCTP', 'DCCP']);
    const ignore = block(fw1, 'Address Ignore');
    for (const a of ['127.0.0.1', '203.0.113.2', '203.0.113.3', '203.0.113.10', '192.168.1.1', '172.16.1.0/30']) {
      assert.ok(ignore.includes(`IPv4_address ${a}`), `ignores ${a}`);
    }
    for (const a of ['::1', 'fe80::/10', '2001:db8:0:2::1']) assert.ok(ignore.includes(`IPv6_address ${a}`), `ignores ${a}`);
    assert.ok(!ignore.some((l) => l.includes('192.168.1.0/24') || l.includes('192.168.1.10')), 'forwarded LAN hosts replicate');
    assert.ok(filter.length > 0);
    assert.deepEqual(ignoredAddresses(site).v4.slice(0, 2), ['127.0.0.1', '203.0.113.2']);
  });

  it('has balanced braces and no tabs/spaces mix', () => {
    for (const text of [fw1, fw2]) {
      assert.equal((text.match(/{/g) ?? []).length, (text.match(/}/g) ?? []).length);
      assert.ok(!/^ +\S/m.test(text));
    }
  });

  it('is deterministic', () => {
    assert.equal(renderConntrackdConf(parseSite(EXAMPLE), 'fw1'), fw1);
  });

  it('refuses a site without state sync', () => {
    const off = parseSite(EXAMPLE.replace(/^state_sync = yes$/m, 'state_sync = no'));
    assert.throws(() => renderConntrackdConf(off, 'fw1'), /state sync is off/);
  });

  it('checks its options', () => {
    assert.throws(() => renderConntrackdConf(site, 'fw1', { protocols: ['GRE'] }), /GRE/);
    assert.throws(() => renderConntrackdConf(site, 'fw1', { conntrackMax: 0 }), /positive integer/);
    assert.throws(() => renderConntrackdConf(site, 'fw1', { syslog: 'mail' }), /syslog/);
    assert.match(renderConntrackdConf(site, 'fw1', { scheduler: { type: 'FIFO', priority: 50 } }), /Scheduler {\n\t\tType FIFO\n\t\tPriority 50\n\t}/);
  });
});
