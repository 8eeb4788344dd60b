import { execa } from 'execa';

/** The node's interfaces as the kernel sees them (`ip -j addr`), for status. */
export interface InterfaceState {
  name: string;
  up: boolean;
  mac?: string;
  addresses: string[];
}

interface IpAddrJson {
  ifname: string;
  operstate?: string;
  flags?: string[];
  address?: string;
  addr_info?: { local: string; prefixlen: number; family: string; scope?: string }[];
}

export async function readInterfaces(names: string[]): Promise<InterfaceState[]> {
  const r = await execa('ip', ['-j', 'addr', 'show'], { reject: false });
  const list = r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as IpAddrJson[]) : [];
  return names.map((name) => {
    const i = list.find((x) => x.ifname === name);
    if (!i) return { name, up: false, addresses: [] };
    return {
      name,
      up: (i.flags ?? []).includes('LOWER_UP') && (i.flags ?? []).includes('UP'),
      mac: i.address,
      addresses: (i.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`),
    };
  });
}
