import { execa } from 'execa';

/**
 * The lab's networks, all inside its own network namespace: one Linux bridge
 * per network, a tap per VM NIC, a veth into each plain host's namespace.
 * Nothing here touches the host's own interfaces.
 */
export async function ip(args: string[]): Promise<string> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function namespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

export async function addNamespace(ns: string): Promise<void> {
  await ip(['netns', 'add', ns]);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
}

/** A bridge that floods multicast (CARP/VRRP adverts) and forwards at once (no STP delay). */
export async function addBridge(ns: string, name: string): Promise<void> {
  await ip(['-n', ns, 'link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
  await ip(['-n', ns, 'link', 'set', name, 'up']);
}

export async function addTap(ns: string, name: string, bridge: string): Promise<void> {
  await ip(['-n', ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
  await ip(['-n', ns, 'link', 'set', name, 'master', bridge, 'up']);
}

/** A veth from the lab's bridge into a host namespace, where it is called eth0. */
export async function plugHost(labNs: string, bridge: string, hostNs: string, labSide: string): Promise<void> {
  await ip(['-n', labNs, 'link', 'add', labSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', hostNs]);
  await ip(['-n', labNs, 'link', 'set', labSide, 'master', bridge, 'up']);
  await ip(['-n', hostNs, 'link', 'set', 'eth0', 'up']);
}

/** PIDs of processes running in a namespace (ours: we made the namespace). */
export async function namespacePids(ns: string): Promise<number[]> {
  const r = await execa('ip', ['netns', 'pids', ns], { reject: false });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

export async function deleteNamespace(ns: string): Promise<void> {
  await execa('ip', ['netns', 'del', ns], { reject: false });
}
