import { isAlive } from './machine.js';
import type { Lab } from './lab.js';

/** `carpenter lab status`: the VMs, their boot times, and what each carpd says about its VIPs. */
export interface LabStatus {
  lab: string;
  up: boolean;
  accel?: string;
  nodes: {
    name: string;
    running: boolean;
    pid?: number;
    bootToReadyMs?: number;
    role?: string;
    vips: Record<string, string>;
    error?: string;
  }[];
  hosts: { name: string; namespace: string }[];
}

export interface CarpdStatus {
  role: string;
  vips: { name: string; state?: string }[];
  [k: string]: unknown;
}

export async function carpdStatus(lab: Lab, node: string, timeoutMs = 30_000): Promise<CarpdStatus> {
  const vm = await lab.vm(node);
  const r = await vm.exec('carpd status --json', timeoutMs);
  if (r.exitCode !== 0) throw new Error(`carpd status on ${node} exited ${r.exitCode}: ${r.stdout.trim()}`);
  return JSON.parse(r.stdout) as CarpdStatus;
}

export async function vipStates(lab: Lab, node: string): Promise<Record<string, string>> {
  const s = await carpdStatus(lab, node);
  return Object.fromEntries(s.vips.map((v) => [v.name, v.state ?? 'unknown']));
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const st = lab.state;
  const out: LabStatus = { lab: lab.topo.name, up: await lab.isUp(), accel: st?.accel, nodes: [], hosts: [] };
  for (const node of lab.topo.nodes) {
    const ns = st?.nodes[node.name];
    const entry: LabStatus['nodes'][number] = { name: node.name, running: isAlive(ns?.pid), pid: ns?.pid, bootToReadyMs: ns?.bootToReadyMs, vips: {} };
    if (entry.running) {
      try {
        const s = await carpdStatus(lab, node.name);
        entry.role = s.role;
        entry.vips = Object.fromEntries(s.vips.map((v) => [v.name, v.state ?? 'unknown']));
      } catch (err) {
        entry.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
      }
    }
    out.nodes.push(entry);
  }
  for (const [name, h] of Object.entries(st?.hosts ?? {})) out.hosts.push({ name, namespace: h.ns });
  return out;
}

export function formatLabStatus(s: LabStatus): string {
  const lines = [`lab ${s.lab}: ${s.up ? `up (${s.accel?.toUpperCase()})` : 'down'}`];
  for (const n of s.nodes) {
    const vips = Object.entries(n.vips).map(([v, state]) => `${v}=${state}`).join(' ');
    lines.push(
      `  ${n.name.padEnd(8)} ${n.running ? `running pid ${n.pid}` : 'stopped'}${n.bootToReadyMs ? `, ready after ${(n.bootToReadyMs / 1000).toFixed(1)} s` : ''}${n.role ? `, ${n.role}` : ''}${vips ? `: ${vips}` : ''}${n.error ? ` (status: ${n.error})` : ''}`,
    );
  }
  for (const h of s.hosts) lines.push(`  ${h.name.padEnd(8)} host, namespace ${h.namespace}`);
  return lines.join('\n') + '\n';
}
