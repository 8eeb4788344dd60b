/**
 * Real CARP/VRRP peers for rig tests: Debian's ucarp and keepalived, run in
 * the foreground inside a rig host so the rig owns their PIDs.
 *
 * ucarp 1.5.2: `ucarp -i IF -s SRC -v VHID -p PASS -a VIP -b ADVBASE -k SKEW [-P] -z -u UP -d DOWN`
 *   stays in the foreground without -B and logs to stderr; the up/down scripts
 *   get `<if> <vip> <xparam>` and here add/remove VIP/prefix on the interface.
 *   -z runs the down script on SIGTERM; a SIGKILLed ucarp leaves the VIP
 *   configured (a crashed box would too).
 *
 * keepalived 2.2.7: `keepalived -n -l -D -G -P -f CONF -p PID -r VRRP_PID -c CHECK_PID`
 *   -n keeps the parent in the foreground but it still forks the VRRP child
 *   (whose PID is in -r); -P runs only VRRP; -l logs to stderr, -G no syslog.
 *   Per-instance pid files let several run on one machine. The child has a
 *   parent-death signal: SIGKILLing only the parent makes the child resign
 *   gracefully (priority 0 advert, VIPs removed). crash() SIGKILLs the child
 *   first, then the parent, which is what a dead box looks like to the peer.
 */
import { rmSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { type Host, type RigProcess, waitUntil, pidAlive } from './netns.js';

export interface UcarpOptions {
  interface: string;
  /** This host's real address on the interface. */
  srcip: string;
  vhid: number;
  password: string;
  /** The VIP, with or without /prefix (default /24). */
  vip: string;
  advbase?: number;
  advskew?: number;
  preempt?: boolean;
  extraArgs?: string[];
}

export function startUcarp(host: Host, o: UcarpOptions): RigProcess {
  const [addr, plen = '24'] = o.vip.split('/');
  const up = host.writeFile(`ucarp-${o.vhid}-up.sh`, `#!/bin/sh\nexec ip addr add "$2/${plen}" dev "$1"\n`, 0o755);
  const down = host.writeFile(`ucarp-${o.vhid}-down.sh`, `#!/bin/sh\nip addr del "$2/${plen}" dev "$1" 2>/dev/null\nexit 0\n`, 0o755);
  return host.spawn(
    'ucarp',
    [
      '-i', o.interface,
      '-s', o.srcip,
      '-v', String(o.vhid),
      '-p', o.password,
      '-a', addr ?? o.vip,
      '-b', String(o.advbase ?? 1),
      '-k', String(o.advskew ?? 0),
      ...(o.preempt ?? true ? ['-P'] : []),
      '-z',
      '-u', up,
      '-d', down,
      ...(o.extraArgs ?? []),
    ],
    { name: `ucarp-${o.vhid}` },
  );
}

export interface KeepalivedOptions {
  interface: string;
  vrid: number;
  priority: number;
  /** Advertisement interval in seconds (VRRPv3: down to 0.01). */
  advertInt: number;
  /** VIPs in CIDR form, all of one family. */
  vips: string[];
  version?: 2 | 3;
  state?: 'BACKUP' | 'MASTER';
  preempt?: boolean;
  unicastSrc?: string;
  unicastPeers?: string[];
  /** Extra lines for global_defs / the vrrp_instance block. */
  extraGlobal?: string;
  extraInstance?: string;
  /** Instance name (default VI_<vrid>). */
  name?: string;
}

export interface KeepalivedPeer {
  proc: RigProcess;
  config: string;
  pidFile: string;
  vrrpPidFile: string;
  /** PID of the VRRP child, once it has written its pid file. */
  vrrpPid(): Promise<number>;
  /** Die like a dead box: SIGKILL the VRRP child, then the parent. */
  crash(): Promise<void>;
  /** Graceful stop (SIGTERM to the parent: priority-0 advert, VIPs removed). */
  stop(): Promise<void>;
}

export function keepalivedConfig(host: Host, o: KeepalivedOptions): string {
  const v6 = o.vips.some((v) => isIPv6(v.split('/')[0] ?? ''));
  const name = o.name ?? `VI_${o.vrid}`;
  return `global_defs {
  router_id ${host.name}
  vrrp_version ${o.version ?? 3}
  enable_script_security
  max_auto_priority
${o.extraGlobal ?? ''}
}
vrrp_instance ${name} {
  state ${o.state ?? 'BACKUP'}
  interface ${o.interface}
  virtual_router_id ${o.vrid}
  priority ${o.priority}
  advert_int ${o.advertInt}
${o.preempt === false ? '  nopreempt\n' : ''}${v6 ? '  native_ipv6\n' : ''}${o.unicastSrc ? `  unicast_src_ip ${o.unicastSrc}\n` : ''}${
    o.unicastPeers?.length ? `  unicast_peer {\n${o.unicastPeers.map((p) => `    ${p}\n`).join('')}  }\n` : ''
  }  virtual_ipaddress {
${o.vips.map((v) => `    ${v} dev ${o.interface}\n`).join('')}  }
${o.extraInstance ?? ''}
}
`;
}

export function startKeepalived(host: Host, o: KeepalivedOptions): KeepalivedPeer {
  const tag = `keepalived-${o.vrid}-${o.vips.some((v) => v.includes(':')) ? 6 : 4}`;
  const config = host.writeFile(`${tag}.conf`, keepalivedConfig(host, o));
  const pidFile = `${host.dir}/${tag}.pid`;
  const vrrpPidFile = `${host.dir}/${tag}.vrrp.pid`;
  const checkersPidFile = `${host.dir}/${tag}.checkers.pid`;
  // a crashed predecessor leaves its pid files; keepalived would refuse to start
  for (const f of [pidFile, vrrpPidFile, checkersPidFile]) rmSync(f, { force: true });
  const proc = host.spawn('keepalived', ['-n', '-l', '-D', '-G', '-P', '-f', config, '-p', pidFile, '-r', vrrpPidFile, '-c', checkersPidFile], {
    name: tag,
    pidFiles: [pidFile, vrrpPidFile],
  });
  const vrrpPid = (): Promise<number> =>
    waitUntil(
      async () => {
        const r = await host.exec('cat', [vrrpPidFile]);
        const pid = Number.parseInt(r.stdout, 10);
        return r.exitCode === 0 && pid > 1 && pidAlive(pid) ? pid : undefined;
      },
      { timeoutMs: 5000, what: `${host.name}: keepalived VRRP child pid` },
    );
  return {
    proc,
    config,
    pidFile,
    vrrpPidFile,
    vrrpPid,
    async crash() {
      const child = await vrrpPid();
      process.kill(child, 'SIGKILL');
      proc.signal('SIGKILL');
      await proc.exited;
      await waitUntil(() => !pidAlive(child), { timeoutMs: 2000, intervalMs: 20, what: 'VRRP child to die' });
    },
    async stop() {
      await proc.kill('SIGTERM');
    },
  };
}
