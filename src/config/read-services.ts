/**
 * Readers for [dhcp], [dns] and [user]: per-value rules only; relations to
 * nodes and VIPs are checked in validate-services.ts.
 */
import { DOMAIN_NAME, INTERFACE_NAME, INTERFACE_NAMES_ALLOWED } from './names.js';
import { NetError, formatIP, parseIPv4 } from './net.js';
import { ValueError, type SectionReader } from './reader.js';
import { canonicalVipOrAddress } from './refs.js';
import { IFACE, parseHostAddress } from './read-network.js';
import type { DhcpDef, DnsDef, UserDef } from './types.js';

// ---- [dhcp], [dns], [user] ---------------------------------------------------------

export function readDhcp(r: SectionReader, name: string): DhcpDef | undefined {
  const iface = r.string('interface', { required: true, ...IFACE });
  const range = r.custom('range', parseV4Range, { required: true });
  const gateway = r.custom('gateway', canonicalVipOrAddress, { required: true });
  const dns = r.customList('dns', canonicalVipOrAddress) ?? [];
  const leaseTime = r.int('lease_time', { min: 60, max: 2592000 }) ?? 7200;
  const domain = r.string('domain', { pattern: DOMAIN_NAME, allowed: 'a DNS domain such as office.example' });
  r.rejectUnknownKeys('interface, range, gateway, dns, lease_time, domain');
  if (iface === undefined || range === undefined || gateway === undefined) return undefined;
  const dhcp: DhcpDef = { name, interface: iface, range, gateway, dns, leaseTime };
  if (domain !== undefined) dhcp.domain = domain;
  return dhcp;
}

/** "192.168.1.100-192.168.1.199" -> first/last, canonical; first <= last. */
function parseV4Range(text: string): DhcpDef['range'] {
  const parts = text.split('-').map((p) => p.trim());
  const allowed = 'first-last IPv4 addresses, e.g. 192.168.1.100-192.168.1.199';
  if (parts.length !== 2) throw new ValueError(`"${text}" is not a range`, allowed);
  let first;
  let last;
  try {
    first = parseIPv4(parts[0] ?? '');
    last = parseIPv4(parts[1] ?? '');
  } catch (e) {
    if (e instanceof NetError) throw new ValueError(e.message, allowed);
    throw e;
  }
  if (first.value > last.value) throw new ValueError(`"${text}" ends before it starts`, allowed);
  return { first: formatIP(first), last: formatIP(last) };
}

export function readDns(r: SectionReader, name: string): DnsDef | undefined {
  const listen = r.customList('listen', parseInterfaceName, { required: true });
  const forwarders = r.customList('forwarders', (v) => formatIP(parseHostAddress(v))) ?? [];
  const domain = r.string('domain', { pattern: DOMAIN_NAME, allowed: 'a DNS domain such as office.example' });
  r.rejectUnknownKeys('listen, forwarders, domain');
  if (listen === undefined) return undefined;
  const dns: DnsDef = { name, listen, forwarders };
  if (domain !== undefined) dns.domain = domain;
  return dns;
}

function parseInterfaceName(text: string): string {
  if (!INTERFACE_NAME.test(text)) throw new ValueError(`"${text}" is not an interface name`, INTERFACE_NAMES_ALLOWED);
  return text;
}

const CRYPT_HASH = /^\$[0-9a-z]+\$[^\s:]+$/;
const SSH_KEY = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( \S.*)?$/;

export function readUser(r: SectionReader, name: string): UserDef | undefined {
  const passwordHash = r.string('password_hash', { required: true, pattern: CRYPT_HASH, allowed: 'a crypt(3) hash such as $6$salt$hash or $y$...' });
  const sshKeys = r.customList('ssh_keys', (k) => {
    if (!SSH_KEY.test(k)) throw new ValueError(`"${k.slice(0, 24)}..." is not an OpenSSH public key`, 'TYPE BASE64 [comment]');
    return k;
  }) ?? [];
  const admin = r.bool('admin', false);
  r.rejectUnknownKeys('password_hash, ssh_keys, admin');
  if (passwordHash === undefined) return undefined;
  return { name, passwordHash, sshKeys, admin };
}
