import { ENV_PREFIX, mask, type SecretSourceKind } from "@tributary/auth";

/** How many of a run's log lines its record keeps at most: the last ones. */
export const RUN_LOG_MAX_LINES = 1000;
/** How many bytes (UTF-8) of a run's log lines its record keeps at most: the last ones. */
export const RUN_LOG_MAX_BYTES = 1024 * 1024;

/** Where a credential of a run came from: a source kind of `@tributary/auth`, or `agent` for an `-e` secret. */
export type CredentialSourceKind = SecretSourceKind | "agent";

/** One row of a run's credential table: a secret name the run resolved and where from. Never a value. */
export interface CredentialUse {
  /** The secret name, such as `AWS_CREDENTIALS`. */
  readonly name: string;
  /** The kind of place: `agent` (the agent's `-e`), `env`, `store`, `backend`, `run`, `argument`, `default-chain`. */
  readonly source: CredentialSourceKind;
  /** The exact place: `-e AWS_CREDENTIALS`, the env var, the store file, the backend and key. */
  readonly detail: string;
  /** What least privilege scoped it to, when it did (`s3:GetObject on reports/2026/*`). */
  readonly scope?: string;
  /** What kind of credential it is, when known (`service account etl@…`, `role arn:…`): never a secret. */
  readonly principal?: string;
}

const KINDS = "argument|run|env|store|backend|default-chain";
/** Logger fields at the end of a text line: `key=value`, a value quoted as JSON when it holds spaces. */
const FIELDS = String.raw`(?: [A-Za-z_]\w*=(?:"(?:[^"\\]|\\.)*"|[^\s"=]+))*`;
/**
 * A provenance line as flows and integrations log it (`NAME from KIND (DETAIL)`, the scope inside the detail or
 * after it as `, scoped to SCOPE`, then `: SUMMARY` when the credential's kind is known), in a text log line
 * (time, level, message, fields) or alone.
 */
const PROVENANCE = new RegExp(
  String.raw`^(?:\S+ INFO\s+)?([A-Z][A-Z0-9_]*) from (${KINDS}) \((.*?)\)(?:, scoped to (.*?))?(?:: (.*?))?(${FIELDS})$`,
);
const SCOPED = ", scoped to ";

/** The message of a JSON log line (`{"level":"info","msg":…}`) at `info`, else the line itself. */
function messageOf(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const record = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return record.level === "info" && typeof record.msg === "string" ? record.msg : "";
  } catch {
    return line;
  }
}

/**
 * Reads a credential-table row from one masked log line, or `undefined` when the line is not a provenance line.
 * `agentNames` are the secrets the agent passed (`-e`): their rows say `agent` instead of the env var or run value
 * that carried them into the run.
 */
export function provenanceOf(line: string, agentNames: ReadonlySet<string>): CredentialUse | undefined {
  const found = PROVENANCE.exec(messageOf(line));
  if (!found) return undefined;
  const [, name = "", kind = "", rawDetail = "", scopeAfter, summary] = found;
  let detail = rawDetail;
  let scope = scopeAfter;
  const at = detail.lastIndexOf(SCOPED);
  if (at >= 0) {
    scope = detail.slice(at + SCOPED.length);
    detail = detail.slice(0, at);
  }
  let source = kind as CredentialSourceKind;
  const carried =
    (kind === "env" && detail.startsWith(`${ENV_PREFIX}${name}`)) ||
    (kind === "run" && detail.startsWith("run "));
  if (carried && agentNames.has(name)) {
    source = "agent";
    detail = `-e ${name}`;
  }
  const row: { -readonly [K in keyof CredentialUse]: CredentialUse[K] } = { name, source, detail };
  if (scope) row.scope = scope;
  if (summary) row.principal = summary;
  return row;
}

/**
 * What an agent keeps of one run's log: the last lines (at most `RUN_LOG_MAX_LINES` and `RUN_LOG_MAX_BYTES`),
 * masked, how many were cut, and the credential table read from the provenance lines as they pass.
 */
export class RunLog {
  private readonly kept: string[] = [];
  private bytes = 0;
  /** How many lines were dropped from the front. */
  cut = 0;
  private readonly rows = new Map<string, CredentialUse>();
  private fresh: string[] = [];

  constructor(
    private readonly agentNames: ReadonlySet<string>,
    private readonly maxLines = RUN_LOG_MAX_LINES,
    private readonly maxBytes = RUN_LOG_MAX_BYTES,
  ) {}

  /** Adds one line (masked here again) and returns it as kept. */
  add(line: string): string {
    const masked = mask(line);
    const row = provenanceOf(masked, this.agentNames);
    if (row) {
      const key = `${row.name}\n${row.source}\n${row.detail}\n${row.scope ?? ""}`;
      const known = this.rows.get(key);
      // A later line may know more (the principal), never less.
      if (!known || (!known.principal && row.principal)) this.rows.set(key, row);
    }
    const size = Buffer.byteLength(masked) + 1;
    this.fresh.push(masked);
    if (this.fresh.length > this.maxLines) this.fresh.shift();
    this.kept.push(masked);
    this.bytes += size;
    while (this.kept.length > this.maxLines || (this.bytes > this.maxBytes && this.kept.length > 0)) {
      const dropped = this.kept.shift() as string;
      this.bytes -= Buffer.byteLength(dropped) + 1;
      this.cut++;
    }
    return masked;
  }

  /** Whether lines were added since the last `takeFresh()`. */
  get hasFresh(): boolean {
    return this.fresh.length > 0;
  }

  /** The lines added since the last call (the last `maxLines` of them), to write as they come. */
  takeFresh(): string[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /** The lines kept, oldest first, with a first line saying how many were cut when some were. */
  lines(): string[] {
    return this.cut > 0 ? [cutNote(this.cut), ...this.kept] : [...this.kept];
  }

  /** The credential table: one row per name, source, detail and scope, in the order first seen. */
  credentials(): CredentialUse[] {
    return [...this.rows.values()];
  }
}

/** The note that opens a run's kept log when earlier lines were cut. */
export function cutNote(cut: number): string {
  return `[${cut} earlier line${cut === 1 ? "" : "s"} cut: a run record keeps the last ${RUN_LOG_MAX_LINES} lines or ${RUN_LOG_MAX_BYTES / 1024 / 1024} MiB]`;
}
