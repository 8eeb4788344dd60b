/**
 * The rendered firewall and conntrackd config on a real kernel (root only).
 *
 * Two throwaway namespaces, cpt-fw-<pid>-fw1 and cpt-fw-<pid>-fw2, stand for
 * the nodes of build/sites/ha-pair.ini: WAN and LAN ports (veth pairs kept
 * inside the namespace: this kernel has no dummy driver), and a veth pair as
 * the SYNC cable between them. Each gets its own rendered ruleset
 * (loaded with real nft) and router sysctls; a broken ruleset is refused with
 * nft's message and line while the loaded one stays; then a real conntrackd
 * per node, configured by renderConntrackdConf, replicates across the
 * firewalled sync link, and a promotion commits the peer's states.
 *
 * Everything this file creates is removed in after() (and on process exit):
 * the namespaces it added and the conntrackd PIDs it started, nothing else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { loadSite, type Site } from '../../src/config/index.js';
import {
  applyRuleset,
  applySysctls,
  checkRuleset,
  listCarpenterTable,
  listRuleset,
  renderRuleset,
  routerSysctls,
} from '../../src/agent/firewall/index.js';
import {
  PeerLiveness,
  parseConntrackdStats,
  renderConntrackdConf,
  runConntrackd,
  runSteps,
  transitionSteps,
} from '../../src/agent/statesync/index.js';

const ROOT = new URL('../../../', import.meta.url);
const SITE_PATH = new URL('build/sites/ha-pair.ini', ROOT).pathname;

function skipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (ip netns, nft, conntrackd): run the rig tests as root';
  for (const tool of ['ip', 'nft', 'conntrackd', 'conntrack']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install iproute2 nftables conntrackd conntrack)`;
  }
  return undefined;
}
const skip = skipReason();

const NODES = ['fw1', 'fw2'] as const;
type NodeName = (typeof NODES)[number];
const NS: Record<NodeName, string> = { fw1: `cpt-fw-${process.pid}-fw1`, fw2: `cpt-fw-${process.pid}-fw2` };

const created: string[] = [];
const daemons: ResultPromise[] = [];
let dir = '';

/** Removes what this file created; safe to call twice, synchronous for the exit handler. */
function cleanupSync(): void {
  for (const d of daemons.splice(0)) {
    if (d.pid !== undefined && d.exitCode === null) {
      try {
        process.kill(d.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'delete', ns]);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanupSync);

async function sh(ns: string, cmd: string): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { reject: false });
  if (r.exitCode !== 0) throw new Error(`[${ns}] ${cmd}: exit ${r.exitCode}: ${String(r.stderr)}`);
  return String(r.stdout);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

const withoutCounters = (text: string) => text.replace(/counter packets \d+ bytes \d+/g, 'counter');

describe('firewall and conntrackd in network namespaces', { skip: skip ?? false }, () => {
  let site: Site;
  const rulesets: Partial<Record<NodeName, string>> = {};
  const sockets: Partial<Record<NodeName, string>> = {};

  before(async () => {
    site = await loadSite(SITE_PATH);
    dir = mkdtempSync(join(tmpdir(), 'cpt-fw-'));
    for (const node of NODES) {
      await execa('ip', ['netns', 'add', NS[node]]);
      created.push(NS[node]);
    }
    await execa('ip', ['link', 'add', 'SYNC', 'netns', NS.fw1, 'type', 'veth', 'peer', 'name', 'SYNC', 'netns', NS.fw2]);
    for (const node of NODES) {
      const def = site.nodes.find((n) => n.name === node);
      assert.ok(def);
      // The kernel here has no dummy driver: a veth pair whose other end stays
      // in the same namespace is the stand-in port.
      await sh(NS[node], 'ip link set lo up && ip link add WAN type veth peer name wan-end && ip link add LAN type veth peer name lan-end');
      await sh(NS[node], 'ip link set wan-end up && ip link set lan-end up');
      for (const [iface, cidrs] of Object.entries(def.interfaces)) {
        for (const cidr of cidrs) await sh(NS[node], `ip addr add ${cidr} dev ${iface} nodad`);
        await sh(NS[node], `ip link set ${iface} up`);
      }
    }
  });

  after(async () => {
    for (const d of daemons) {
      if (d.exitCode === null) d.kill('SIGTERM');
    }
    await Promise.race([Promise.allSettled(daemons), new Promise((r) => setTimeout(r, 3000))]);
    cleanupSync();
    const left = String((await execa('ip', ['netns', 'list'])).stdout);
    assert.ok(!left.includes(`cpt-fw-${process.pid}-`), 'namespaces removed');
  });

  it('loads each node\'s rendered ruleset with real nft', async () => {
    for (const node of NODES) {
      const text = renderRuleset(site, node);
      rulesets[node] = text;
      assert.deepEqual(await checkRuleset(text, { isolated: true }), { ok: true, message: '', errors: [] }, 'checks in a private namespace');
      const r = await applyRuleset(text, { netns: NS[node] });
      assert.equal(r.message, '');
      assert.equal(r.applied, true);
      const listed = await listRuleset({ netns: NS[node] });
      const [self, peer] = node === 'fw1' ? ['172.16.1.1', '172.16.1.2'] : ['172.16.1.2', '172.16.1.1'];
      for (const expected of [
        'table inet carpenter {',
        'set web_servers-v4 {',
        'elements = { 192.168.1.10, 192.168.1.11 }',
        'set web_servers-v6 {',
        'chain input {',
        'type filter hook input priority filter; policy drop;',
        'chain forward {',
        'chain sync_in {',
        `ip saddr ${peer} ip daddr ${self} udp dport 3780 accept comment "conntrackd FTFW state sync from ${node === 'fw1' ? 'fw2' : 'fw1'}"`,
        `ip saddr ${peer} ip daddr ${self} tcp dport 8443 accept`,
        'iifname { "WAN", "WAN-vh49" } jump from_WAN',
        'iifname { "LAN", "LAN-vh1", "LAN-vh2" } jump from_LAN',
        'ip daddr @web_servers-v4 tcp dport @web_ports counter packets 0 bytes 0 log prefix "[pass web-in] " accept',
        'oifname { "WAN", "WAN-vh49" } ip saddr 192.168.1.0/24 snat ip to 203.0.113.10 comment "nat lan-out"',
      ]) {
        assert.ok(listed.includes(expected), `${node}: nft list ruleset shows: ${expected}`);
      }
    }
  });

  it('re-applies in place and leaves other tables alone', async () => {
    const ns = NS.fw1;
    await sh(ns, 'nft add table inet other && nft add chain inet other keep');
    const r = await applyRuleset(rulesets.fw1 ?? '', { netns: ns });
    assert.equal(r.applied, true);
    const listed = await listRuleset({ netns: ns });
    assert.equal([...listed.matchAll(/^table inet carpenter \{$/gm)].length, 1);
    assert.match(listed, /^table inet other \{$/m);
    await sh(ns, 'nft delete table inet other');
  });

  it('keeps the loaded ruleset when nft rejects a new one, and names the line', async () => {
    const ns = NS.fw1;
    const good = rulesets.fw1 ?? '';
    const before = withoutCounters((await listCarpenterTable({ netns: ns })) ?? '');
    assert.match(before, /chain from_LAN/);

    // A syntax error: the check refuses it, nothing is attempted.
    const lines = good.split('\n');
    const at = lines.indexOf('\tchain from_LAN {') + 1;
    assert.ok(at > 0);
    lines.splice(at, 0, '\t\ttcp dport 22 acept');
    const broken = lines.join('\n');
    const r = await applyRuleset(broken, { netns: ns });
    assert.equal(r.applied, false);
    assert.equal(r.stage, 'check');
    assert.equal(r.errors[0]?.line, at + 1, 'the 1-based line of the bad rule');
    assert.match(r.message, new RegExp(`^ruleset:${at + 1}:\\d+-\\d+: Error: syntax error`));
    assert.equal(r.errors[0]?.text, 'tcp dport 22 acept');
    assert.equal(withoutCounters((await listCarpenterTable({ netns: ns })) ?? ''), before, 'old ruleset still loaded');

    // A kernel-side error past `delete table`, loaded with plain `nft -f`
    // (no check): the transaction is rolled back, the old table survives.
    const kernelBroken = good.replace('\tchain from_LAN {\n', '\tchain from_LAN {\n\t\tiifname "x" jump no_such_chain\n');
    const raw = await execa('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: kernelBroken, reject: false });
    assert.equal(raw.exitCode, 1);
    assert.match(String(raw.stderr), /Error: Could not process rule: No such file or directory/);
    assert.equal(withoutCounters((await listCarpenterTable({ netns: ns })) ?? ''), before, 'rolled back: old ruleset still loaded');
    const viaApply = await applyRuleset(kernelBroken, { netns: ns });
    assert.equal(viaApply.applied, false);
    assert.equal(viaApply.errors[0]?.line, kernelBroken.split('\n').indexOf('\t\tiifname "x" jump no_such_chain') + 1);
  });

  it('applies the router sysctls inside the namespace', async () => {
    for (const node of NODES) {
      const results = await applySysctls(routerSysctls(site, node), { netns: NS[node], skipHostScope: true });
      assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.sysctl.path}: ${r.error ?? ''}`), []);
      assert.equal((await sh(NS[node], 'cat /proc/sys/net/ipv4/ip_forward')).trim(), '1');
      assert.equal((await sh(NS[node], 'cat /proc/sys/net/ipv4/conf/LAN/rp_filter')).trim(), '2');
      assert.equal((await sh(NS[node], 'cat /proc/sys/net/ipv4/conf/SYNC/rp_filter')).trim(), '1');
      assert.equal((await sh(NS[node], 'cat /proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal')).trim(), '1');
    }
    // A VIP macvlan created afterwards (as carpd's takeover does, named as the
    // ruleset expects) inherits forwarding and loose reverse-path filtering.
    await sh(NS.fw1, 'ip link add link WAN name WAN-vh49 address 00:00:5e:00:01:31 type macvlan mode private');
    assert.equal((await sh(NS.fw1, 'cat /proc/sys/net/ipv4/conf/WAN-vh49/forwarding /proc/sys/net/ipv4/conf/WAN-vh49/rp_filter')).trim(), '1\n2');
    await sh(NS.fw1, 'ip link del WAN-vh49');
  });

  it('passes XML-RPC and ping on the sync link and drops everything else', async () => {
    const dropped = async (node: NodeName, chain: string, what: string) => {
      const listed = await sh(NS[node], `nft list chain inet carpenter ${chain}`);
      const m = new RegExp(`counter packets (\\d+) bytes \\d+ drop comment "${what}"`).exec(listed);
      assert.ok(m, `${chain} has its final drop`);
      return Number(m[1]);
    };
    const connect = (node: NodeName, port: number) =>
      execa('ip', ['netns', 'exec', NS[node], 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/172.16.1.1/${port}`], { reject: false });

    await sh(NS.fw2, 'ping -c1 -W2 172.16.1.1');
    // fw2's own filter refuses to send anything else onto the sync link.
    const out0 = await dropped('fw2', 'sync_out', 'nothing else leaves on the sync link');
    assert.notEqual((await connect('fw2', 22)).exitCode, 0);
    assert.ok((await dropped('fw2', 'sync_out', 'nothing else leaves on the sync link')) > out0);

    // Without fw2's filter, fw1's decides: 8443 passes (nothing listens, so
    // the kernel answers with a reset: refused at once), 22 is dropped (timeout).
    await sh(NS.fw2, 'nft delete table inet carpenter');
    try {
      const in0 = await dropped('fw1', 'sync_in', 'nothing else enters on the sync link');
      const xmlrpc = await connect('fw2', 8443);
      assert.match(String(xmlrpc.stderr), /Connection refused/);
      const ssh = await connect('fw2', 22);
      assert.equal(ssh.exitCode, 124, 'timed out: dropped, not refused');
      assert.ok((await dropped('fw1', 'sync_in', 'nothing else enters on the sync link')) > in0);
    } finally {
      assert.equal((await applyRuleset(rulesets.fw2 ?? '', { netns: NS.fw2 })).applied, true);
    }
  });

  it('runs conntrackd with the rendered config and answers -s through its socket', async () => {
    for (const node of NODES) {
      const socket = join(dir, `${node}.ctl`);
      sockets[node] = socket;
      const conf = join(dir, `${node}.conf`);
      writeFileSync(conf, renderConntrackdConf(site, node, { socketPath: socket, lockFile: join(dir, `${node}.lock`), logFile: join(dir, `${node}.log`) }));
      const d = execa('ip', ['netns', 'exec', NS[node], 'conntrackd', '-C', conf], { reject: false, stdin: 'ignore' });
      daemons.push(d);
    }
    for (const node of NODES) {
      const socket = sockets[node] ?? '';
      const r = await waitFor(`conntrackd ${node}`, async () => {
        if (!existsSync(socket)) return undefined;
        const res = await runConntrackd(['-s'], socket);
        return res.ok ? res : undefined;
      });
      const stats = parseConntrackdStats(r.stdout);
      assert.equal(stats.link?.transport, 'UDP');
      assert.equal(stats.link?.device, 'SYNC');
      assert.equal(stats.internal?.active, 0);
    }
  });

  it('replicates forwarded flows across the firewalled sync link, and not the firewall\'s own', async () => {
    const fw1 = sockets.fw1 ?? '';
    const fw2 = sockets.fw2 ?? '';
    const insert = (args: string) => sh(NS.fw1, `conntrack -I -p tcp --state ESTABLISHED -t 600 -u SEEN_REPLY,ASSURED ${args}`);
    // LAN client -> internet, translated to the WAN VIP (outbound NAT).
    await insert('-s 192.168.1.50 -d 198.51.100.1 --sport 40001 --dport 443 --src-nat 203.0.113.10');
    // Internet -> WAN VIP port 80, forwarded to a LAN server (port forward).
    await insert('-s 198.51.100.7 -d 203.0.113.10 --sport 40003 --dport 80 --dst-nat 192.168.1.10');
    // Internet -> the firewall itself on the VIP: local, not replicated.
    await insert('-s 198.51.100.7 -d 203.0.113.10 --sport 40002 --dport 22');

    const external = await waitFor('2 entries in fw2\'s external cache', async () => {
      const s = parseConntrackdStats((await runConntrackd(['-s'], fw2)).stdout);
      return s.external?.active === 2 ? s : undefined;
    });
    assert.equal(external.internal?.active, 0);
    const dump = (await runConntrackd(['-e'], fw2)).stdout;
    assert.match(dump, /sport=40001 dport=443/);
    assert.match(dump, /sport=40003 dport=80/);
    assert.doesNotMatch(dump, /sport=40002/);
    const master = parseConntrackdStats((await runConntrackd(['-s'], fw1)).stdout);
    assert.equal(master.internal?.active, 2);

    const live = new PeerLiveness(3000);
    live.sample(external, Date.now());
    await new Promise((r) => setTimeout(r, 1500));
    live.sample(parseConntrackdStats((await runConntrackd(['-s'], fw2)).stdout), Date.now());
    assert.equal(live.reachable(Date.now()), true, 'FTFW alive messages arrive through the SYNC rules');
  });

  it('commits the peer\'s states into the kernel on promotion, with their NAT', async () => {
    const steps = await runSteps(transitionSteps('master'), sockets.fw2 ?? '');
    assert.deepEqual(steps.map((s) => [s.args.join(' '), s.ok, s.error ?? '']), [
      ['-c', true, ''],
      ['-f', true, ''],
      ['-R', true, ''],
      ['-B', true, ''],
    ]);
    const table = await sh(NS.fw2, 'conntrack -L 2>/dev/null');
    assert.match(table, /src=192\.168\.1\.50 dst=198\.51\.100\.1 sport=40001 dport=443 src=198\.51\.100\.1 dst=203\.0\.113\.10 sport=443 dport=40001 \[ASSURED\]/);
    assert.match(table, /src=198\.51\.100\.7 dst=203\.0\.113\.10 sport=40003 dport=80 src=192\.168\.1\.10 dst=198\.51\.100\.7 sport=80 dport=40003 \[ASSURED\]/);
    assert.doesNotMatch(table, /sport=40002/);

    const demoted = await runSteps(transitionSteps('backup'), sockets.fw1 ?? '');
    assert.ok(demoted.every((s) => s.ok), demoted.map((s) => s.error).join('; '));
  });
});
