/**
 * carpd's log: one line per event on stdout (the console on an appliance),
 * "carpd[NODE]: message key=value ...". Structured fields keep lines greppable
 * by tests and people alike.
 */
export type Fields = Record<string, string | number | boolean | undefined>;

/** What a component gets when it only needs to report problems. */
export type Warn = (msg: string, fields?: Fields) => void;

export class Logger {
  constructor(
    private node: string,
    private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
  ) {}

  setNode(node: string): void {
    this.node = node;
  }

  private line(level: string, msg: string, fields?: Fields): void {
    const kv = Object.entries(fields ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
      .join(' ');
    const tag = level === 'info' ? '' : `${level.toUpperCase()}: `;
    this.out(`carpd[${this.node}]: ${tag}${msg}${kv ? ' ' + kv : ''}`);
  }

  info(msg: string, fields?: Fields): void {
    this.line('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.line('warn', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.line('error', msg, fields);
  }
}
