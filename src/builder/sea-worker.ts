/**
 * Runs under Node 22 (see agent.ts): `node sea-worker.js BUNDLE OUT RUNTIME [ADDON]`.
 * Calls @yao-pkg/pkg's SEA builder with an explicit runtime binary, so pkg
 * neither downloads Node nor fetches checksums.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

async function main(): Promise<void> {
  const [bundle, output, runtime, addon] = process.argv.slice(2);
  if (!bundle || !output || !runtime) throw new Error('usage: sea-worker BUNDLE OUT RUNTIME [ADDON]');
  const mod = require('@yao-pkg/pkg/lib-es5/sea.js') as { default: (entry: string, opts: object) => Promise<void> };
  await mod.default(bundle, {
    targets: [{ nodeRange: 'node22', platform: 'linux', arch: 'x64', output }],
    nodePath: runtime,
    // the raw-socket addon rides inside the executable (see src/agent/addon.ts)
    seaConfig: addon ? { assets: { 'raw.node': addon } } : {},
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
