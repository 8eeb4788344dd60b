/**
 * Errors for site and board files.
 *
 * Every problem points at a file and line so that an engineer can jump to it,
 * and the parsers collect all problems before throwing, so one run of
 * `carpenter build` shows the whole list instead of one error per attempt.
 */

/** Where a problem is and what is wrong; `allowed` says what would be accepted. */
export interface ConfigProblem {
  file: string;
  line: number;
  /** Section label as written in the file, e.g. `[vip "lan"]`; absent for file-level problems. */
  section?: string;
  key?: string;
  message: string;
  allowed?: string;
}

/**
 * One problem in a config file. `message` is the formatted line
 * (`site.ini:14: [vip "lan"] vhid: 300 is out of range (allowed: 1-255)`);
 * `detail` is the bare message, the other fields say where and what is allowed.
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly section?: string;
  readonly key?: string;
  readonly detail: string;
  readonly allowed?: string;

  constructor(problem: ConfigProblem) {
    super(formatProblem(problem));
    this.name = 'ConfigError';
    this.file = problem.file;
    this.line = problem.line;
    this.detail = problem.message;
    if (problem.section !== undefined) this.section = problem.section;
    if (problem.key !== undefined) this.key = problem.key;
    if (problem.allowed !== undefined) this.allowed = problem.allowed;
  }
}

/** All problems found in one file (or one parse), thrown together. */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];

  constructor(errors: readonly ConfigError[]) {
    const sorted = [...errors].sort(byPosition);
    super(sorted.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = sorted;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = `${baseName(p.file)}:${p.line}:`;
  const section = p.section === undefined ? '' : ` ${p.section}`;
  const key = p.key === undefined ? '' : ` ${p.key}:`;
  const allowed = p.allowed === undefined ? '' : ` (allowed: ${p.allowed})`;
  // "[vip "lan"] vhid: msg" when there is a key, "[vip "lan"]: msg" when there is not.
  const sep = p.key === undefined && p.section !== undefined ? ':' : '';
  return `${where}${section}${key}${sep} ${p.message}${allowed}`;
}

/** Collects problems while parsing; `throwIfAny` ends the parse. */
export class ErrorList {
  readonly errors: ConfigError[] = [];

  add(problem: ConfigProblem): void {
    this.errors.push(new ConfigError(problem));
  }

  get size(): number {
    return this.errors.length;
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new ConfigErrors(this.errors);
  }
}

function byPosition(a: ConfigError, b: ConfigError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line;
}

// Messages name the file the way the user wrote it, but without a long directory prefix.
function baseName(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? file : file.slice(slash + 1);
}
