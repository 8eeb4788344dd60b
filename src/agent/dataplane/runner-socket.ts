import { join } from 'node:path';

/** The dataplane runner's control socket (status only). */
export function dataplaneSocket(runDir: string): string {
  return join(runDir, 'dataplane.sock');
}
