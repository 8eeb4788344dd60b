/**
 * The conntrackd statistics parsers, on output captured from real
 * conntrackd 1.4.7 daemons (two namespaces, FTFW over a veth, configs from
 * renderConntrackdConf, 21 entries inserted on the master with conntrack -I).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerLiveness, StatsParseError, parseConntrackdRuntime, parseConntrackdStats, summarizeStats } from '../../src/agent/statesync/stats.js';

const UDP_MASTER_GENERAL = [
  'cache internal:',
  'current active connections:\t          21',
  'connections created:\t\t          21\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'cache external:',
  'current active connections:\t           0',
  'connections created:\t\t           0\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'traffic processed:',
  '                   0 Bytes                         0 Pckts',
  '',
  'UDP traffic (active device=SYNC):',
  '                1972 Bytes sent                   48 Bytes recv',
  '                  24 Pckts sent                    3 Pckts recv',
  '                   0 Error send                    0 Error recv',
  '',
  'message tracking:',
  '                   0 Malformed msgs                    0 Lost msgs',
  '',
].join('\n');

const UDP_BACKUP_GENERAL = [
  'cache internal:',
  'current active connections:\t           0',
  'connections created:\t\t           0\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'cache external:',
  'current active connections:\t          21',
  'connections created:\t\t          21\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'traffic processed:',
  '                   0 Bytes                         0 Pckts',
  '',
  'UDP traffic (active device=SYNC):',
  '                  48 Bytes sent                 1956 Bytes recv',
  '                   3 Pckts sent                   23 Pckts recv',
  '                   0 Error send                    0 Error recv',
  '',
  'message tracking:',
  '                   0 Malformed msgs                    0 Lost msgs',
  '',
].join('\n');

const UDP_MASTER_RUNTIME = [
  'daemon uptime: 0 min',
  '',
  'netlink stats:',
  '\tevents received:\t                  21',
  '\tevents filtered:\t                   0',
  '\tevents unknown type:\t\t           0',
  '\tcatch event failed:\t\t           0',
  '\tdump unknown type:\t\t           0',
  '\tnetlink overrun:\t\t           0',
  '\tflush kernel table:\t\t           0',
  '\tresync with kernel table:\t           0',
  '\tcurrent buffer size (in bytes):\t    67108864',
  '',
  'runtime stats:',
  '\tchild process failed:\t\t           0',
  '\t\tchild process segfault:\t           0',
  '\t\tchild process termsig:\t           0',
  '\tselect failed:\t\t\t           0',
  '\twait failed:\t\t\t           0',
  '\tlocal read failed:\t\t           0',
  '\tlocal unknown request:\t\t           0',
  '',
].join('\n');

const MULTICAST_BACKUP_GENERAL = [
  'cache internal:',
  'current active connections:\t           0',
  'connections created:\t\t           0\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'cache external:',
  'current active connections:\t          21',
  'connections created:\t\t          21\tfailed:\t           0',
  'connections updated:\t\t           0\tfailed:\t           0',
  'connections destroyed:\t\t           0\tfailed:\t           0',
  '',
  'traffic processed:',
  '                   0 Bytes                         0 Pckts',
  '',
  'multicast traffic (active device=SYNC):',
  '                  48 Bytes sent                 1956 Bytes recv',
  '                   3 Pckts sent                   23 Pckts recv',
  '                   0 Error send                    0 Error recv',
  '',
  'message tracking:',
  '                   0 Malformed msgs                    0 Lost msgs',
  '',
].join('\n');

describe('parseConntrackdStats', () => {
  it('reads the master: 21 states in the internal cache, none external, UDP link counters', () => {
    const s = parseConntrackdStats(UDP_MASTER_GENERAL);
    assert.deepEqual(s.internal, { active: 21, created: 21, createFailed: 0, updated: 0, updateFailed: 0, destroyed: 0, destroyFailed: 0 });
    assert.equal(s.external?.active, 0);
    assert.deepEqual(s.traffic, { bytes: 0, packets: 0 });
    assert.deepEqual(s.link, { transport: 'UDP', device: 'SYNC', bytesSent: 1972, bytesRecv: 48, packetsSent: 24, packetsRecv: 3, errorsSent: 0, errorsRecv: 0 });
    assert.deepEqual(s.messages, { malformed: 0, lost: 0 });
  });

  it('reads the backup: the peer\'s 21 states in the external cache', () => {
    const s = parseConntrackdStats(UDP_BACKUP_GENERAL);
    assert.equal(s.internal?.active, 0);
    assert.equal(s.external?.active, 21);
    assert.equal(s.external?.created, 21);
    assert.equal(s.link?.bytesRecv, 1956);
    assert.equal(s.link?.packetsRecv, 23);
  });

  it('reads the multicast transport\'s heading', () => {
    const s = parseConntrackdStats(MULTICAST_BACKUP_GENERAL);
    assert.equal(s.link?.transport, 'multicast');
    assert.equal(s.link?.device, 'SYNC');
    assert.equal(s.external?.active, 21);
  });

  it('counts failures and errors', () => {
    const text = UDP_MASTER_GENERAL.replace('connections created:\t\t          21\tfailed:\t           0', 'connections created:\t\t          21\tfailed:\t           4').replace(
      '                   0 Error send                    0 Error recv',
      '                   7 Error send                    2 Error recv',
    );
    const s = parseConntrackdStats(text);
    assert.equal(s.internal?.createFailed, 4);
    assert.equal(s.link?.errorsSent, 7);
    assert.equal(s.link?.errorsRecv, 2);
  });

  it('refuses text that is not conntrackd -s output', () => {
    assert.throws(() => parseConntrackdStats("[ERROR] can't connect: is conntrackd running?"), StatsParseError);
  });

  it('summarizes for carpd status', () => {
    assert.equal(
      summarizeStats(parseConntrackdStats(UDP_BACKUP_GENERAL)),
      'internal 0; external 21; UDP SYNC: sent 3 pkts/48 B, recv 23 pkts/1956 B; errors 0 send/0 recv',
    );
    const overrun = parseConntrackdRuntime(UDP_MASTER_RUNTIME.replace('netlink overrun:\t\t           0', 'netlink overrun:\t\t           1'));
    assert.match(summarizeStats(parseConntrackdStats(UDP_MASTER_GENERAL), overrun), /netlink overruns 1$/);
  });
});

describe('parseConntrackdRuntime', () => {
  it('reads events, overruns and the netlink buffer size', () => {
    assert.deepEqual(parseConntrackdRuntime(UDP_MASTER_RUNTIME), {
      uptimeMinutes: 0,
      eventsReceived: 21,
      eventsFiltered: 0,
      netlinkOverruns: 0,
      kernelResyncs: 0,
      bufferSize: 67108864,
    });
  });

  it('refuses other text', () => {
    assert.throws(() => parseConntrackdRuntime('hello'), StatsParseError);
  });
});

describe('PeerLiveness', () => {
  const at = (recv: number) => parseConntrackdStats(UDP_BACKUP_GENERAL.replace('                   3 Pckts sent                   23 Pckts recv', `                   3 Pckts sent                   ${recv} Pckts recv`));

  it('needs two samples before it says anything', () => {
    const p = new PeerLiveness(3000);
    assert.equal(p.reachable(0), undefined);
    p.sample(at(23), 0);
    assert.equal(p.reachable(1000), undefined);
  });

  it('is reachable while received packets grow (FTFW sends an alive message every second)', () => {
    const p = new PeerLiveness(3000);
    p.sample(at(23), 0);
    p.sample(at(24), 1000);
    assert.equal(p.reachable(1000), true);
    p.sample(at(25), 2000);
    assert.equal(p.reachable(4900), true);
    assert.equal(p.lastHeardAgoMs(4900), 2900);
  });

  it('is unreachable when nothing arrived within the window', () => {
    const p = new PeerLiveness(3000);
    p.sample(at(23), 0);
    p.sample(at(23), 1000);
    p.sample(at(23), 3500);
    assert.equal(p.reachable(3500), false);
    p.sample(at(24), 4000);
    assert.equal(p.reachable(4000), true);
    assert.equal(p.reachable(7001), false);
  });
});
