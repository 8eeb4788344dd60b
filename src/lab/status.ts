import { APPLIANCE } from '../agent/paths.js';
import type { StatusSummary } from '../agent/summary.js';
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

/** The full `carpd status --json` of a node (starts a Node process on it: not for tight polling). */
export async function carpdStatus(lab: Lab, node: string, timeoutMs = 30_000): Promise<CarpdStatus> {
  const vm = await lab.vm(node);
  const r = await vm.exec('carpd status --json', timeoutMs);
  if (r.exitCode !== 0) throw new Error(`carpd status on ${node} exited ${r.exitCode}: ${r.stdout.trim()}`);
  return JSON.parse(r.stdout) as CarpdStatus;
}

/**
 * carpd's own summary (src/agent/summary.ts), read with a `cat`: what the
 * scenarios poll, so that watching the agent does not take its CPU. Only a
 * summary whose carpd is alive counts.
 */
export async function carpdSummary(lab: Lab, node: string, timeoutMs = 15_000): Promise<StatusSummary> {
  const vm = await lab.vm(node);
  const file = `${APPLIANCE.runDir}/status.json`;
  const r = await vm.exec(`cat ${file} && kill -0 $(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' ${file})`, timeoutMs);
  if (r.exitCode !== 0) throw new Error(`no live carpd summary on ${node} (exit ${r.exitCode}): ${r.stdout.trim().slice(0, 200)}`);
  return JSON.parse(r.stdout.trim().split('\n')[0]!) as StatusSummary;
}

/**
 * Each VIP's state on `node`. A MASTER still taking over (its before-master
 * hooks, e.g. the conntrack commit, and the VIP not yet in place) reads
 * TAKING-OVER: scenarios count a node as master once it answers for the VIP.
 */
export async function vipStates(lab: Lab, node: string): Promise<Record<string, string>> {
  const s = await carpdSummary(lab, node);
  return Object.fromEntries(s.vips.map((v) => [v.name, v.state === 'MASTER' && v.holding === false ? 'TAKING-OVER' : v.state]));
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const st = lab.state;
  const out: LabStatus = { lab: lab.topo.name, up: await lab.isUp(), accel: st?.accel, nodes: [], hosts: [] };
  for (const node of lab.topo.nodes) {
    const ns = st?.nodes[node.name];
    const entry: LabStatus['nodes'][number] = { name: node.name, running: isAlive(ns?.pid), pid: ns?.pid, bootToReadyMs: ns?.bootToReadyMs, vips: {} };
    if (entry.running) {
      try {
        const s = await carpdSummary(lab, node.name);
        entry.role = s.role;
        entry.vips = Object.fromEntries(s.vips.map((v) => [v.name, v.state]));
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
