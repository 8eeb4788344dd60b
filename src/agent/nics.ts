import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FoundNic } from '../config/nicmap.js';

/**
 * The physical ethernet ports the kernel found: every /sys/class/net entry
 * with a backing device (so not lo, bridges, macvlans or veths), with its PCI
 * address (walking up from virtio devices to their PCI parent), MAC and driver.
 */
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

export async function findNics(sysNet = '/sys/class/net'): Promise<FoundNic[]> {
  const out: FoundNic[] = [];
  for (const ifname of (await readdir(sysNet)).sort()) {
    const dir = join(sysNet, ifname);
    let device: string;
    try {
      device = await realpath(join(dir, 'device'));
    } catch {
      continue; // virtual interface
    }
    const type = (await readFile(join(dir, 'type'), 'utf8').catch(() => '')).trim();
    if (type !== '1') continue; // ARPHRD_ETHER only
    const mac = (await readFile(join(dir, 'address'), 'utf8')).trim();
    const pciPath = device.split('/').reverse().find((part) => PCI_ADDRESS.test(part));
    const driver = await readlink(join(device, 'driver')).then(basename, () => undefined);
    out.push({ ifname, mac, pciPath, driver });
  }
  return out;
}
