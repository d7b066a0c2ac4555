import { TributaryError } from "@tributary/auth";
import { agentLs } from "./agent-ls.js";
import { agentStart } from "./agent-start.js";
import { type CliIo, CliOutput, EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { deployCommand } from "./deploy-command.js";
import { doctor } from "./doctor.js";
import { keysGenerate, keysPublic } from "./keys-command.js";
import { UsageError } from "./parse-command-args.js";
import { PromptCancelledError } from "./read-secret-input.js";
import { runCommand } from "./run-command.js";
import { runsLs } from "./runs-ls.js";
import { runsShow } from "./runs-show.js";
import { scheduleAdd, scheduleLs, schedulePause, scheduleResume, scheduleRm } from "./schedule-command.js";
import { secretsList } from "./secrets-list.js";
import { secretsRm } from "./secrets-rm.js";
import { secretsSet } from "./secrets-set.js";
import { uiCommand } from "./ui-command.js";
import {
  AGENT_LS_USAGE,
  AGENT_START_USAGE,
  AGENT_USAGE,
  CLI_VERSION,
  DEPLOY_USAGE,
  DOCTOR_USAGE,
  KEYS_GENERATE_USAGE,
  KEYS_PUBLIC_USAGE,
  KEYS_USAGE,
  LIST_USAGE,
  MAIN_USAGE,
  RM_USAGE,
  RUN_USAGE,
  RUNS_LS_USAGE,
  RUNS_SHOW_USAGE,
  RUNS_USAGE,
  SCHEDULE_ADD_USAGE,
  SCHEDULE_LS_USAGE,
  SCHEDULE_NAME_USAGE,
  SCHEDULE_USAGE,
  SECRETS_USAGE,
  SET_USAGE,
  UI_USAGE,
  VERIFY_USAGE,
} from "./usage.js";
import { verifyCommand } from "./verify-command.js";

type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>;

const SECRETS_COMMANDS: Record<string, Command> = { set: secretsSet, list: secretsList, rm: secretsRm };
/** Commands with subcommands: their usage and their subcommands. */
const GROUPS: Record<string, { usage: string; commands: Record<string, Command> }> = {
  agent: { usage: AGENT_USAGE, commands: { start: agentStart, ls: agentLs } },
  runs: { usage: RUNS_USAGE, commands: { ls: runsLs, show: runsShow } },
  schedule: {
    usage: SCHEDULE_USAGE,
    commands: {
      add: scheduleAdd,
      ls: scheduleLs,
      rm: scheduleRm,
      pause: schedulePause,
      resume: scheduleResume,
    },
  },
  keys: { usage: KEYS_USAGE, commands: { generate: keysGenerate, public: keysPublic } },
};
const HELP_TOPICS: Record<string, string> = {
  secrets: SECRETS_USAGE,
  "secrets set": SET_USAGE,
  "secrets list": LIST_USAGE,
  "secrets rm": RM_USAGE,
  doctor: DOCTOR_USAGE,
  agent: AGENT_USAGE,
  "agent start": AGENT_START_USAGE,
  "agent ls": AGENT_LS_USAGE,
  runs: RUNS_USAGE,
  "runs ls": RUNS_LS_USAGE,
  "runs show": RUNS_SHOW_USAGE,
  schedule: SCHEDULE_USAGE,
  "schedule add": SCHEDULE_ADD_USAGE,
  "schedule ls": SCHEDULE_LS_USAGE,
  "schedule rm": SCHEDULE_NAME_USAGE,
  "schedule pause": SCHEDULE_NAME_USAGE,
  "schedule resume": SCHEDULE_NAME_USAGE,
  deploy: DEPLOY_USAGE,
  run: RUN_USAGE,
  ui: UI_USAGE,
  verify: VERIFY_USAGE,
  keys: KEYS_USAGE,
  "keys generate": KEYS_GENERATE_USAGE,
  "keys public": KEYS_PUBLIC_USAGE,
};

/** A command word is echoed in "unknown command" only when it cannot be a pasted secret. */
const echoable = (word: string) => (/^[a-z][a-z-]{0,19}$/.test(word) ? ` "${word}"` : "");

let envQueue: Promise<void> = Promise.resolve();

async function withEnv<R>(env: CliIo["env"], fn: () => Promise<R>): Promise<R> {
  if (env === undefined || env === process.env) return fn();
  const previous = envQueue;
  let release!: () => void;
  envQueue = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous;
  const saved = process.env;
  process.env = { ...env } as NodeJS.ProcessEnv;
  try {
    return await fn();
  } finally {
    process.env = saved;
    release();
  }
}

async function dispatch(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  const { output } = ctx;
  switch (command) {
    case undefined:
      output.err(MAIN_USAGE);
      return EXIT_CODES.usage;
    case "-h":
    case "--help":
    case "help": {
      const topic = rest.join(" ");
      const text = topic === "" ? MAIN_USAGE : HELP_TOPICS[topic];
      if (text === undefined) throw new UsageError(`no help for${echoable(topic)}`, MAIN_USAGE);
      output.out(text);
      return EXIT_CODES.ok;
    }
    case "-v":
    case "--version":
    case "version":
      output.out(CLI_VERSION);
      return EXIT_CODES.ok;
    case "doctor":
      return doctor(rest, ctx);
    case "deploy":
      return deployCommand(rest, ctx);
    case "run":
      return runCommand(rest, ctx);
    case "verify":
      return verifyCommand(rest, ctx);
    case "ui":
      return uiCommand(rest, ctx);
    case "secrets": {
      const [sub, ...args] = rest;
      if (sub === "-h" || sub === "--help") {
        output.out(SECRETS_USAGE);
        return EXIT_CODES.ok;
      }
      if (sub === undefined) throw new UsageError("missing secrets command (set, list or rm)", SECRETS_USAGE);
      const run = SECRETS_COMMANDS[sub];
      if (!run) throw new UsageError(`unknown secrets command${echoable(sub)}`, SECRETS_USAGE);
      return run(args, ctx);
    }
    case "agent":
    case "runs":
    case "schedule":
    case "keys": {
      const group = GROUPS[command] as (typeof GROUPS)[string];
      const [sub, ...args] = rest;
      if (sub === undefined || sub === "-h" || sub === "--help") {
        if (sub === undefined) throw new UsageError(`missing ${command} command`, group.usage);
        output.out(group.usage);
        return EXIT_CODES.ok;
      }
      const run = group.commands[sub];
      if (!run) throw new UsageError(`unknown ${command} command${echoable(sub)}`, group.usage);
      return run(args, ctx);
    }
    default:
      throw new UsageError(`unknown command${echoable(command)}`, MAIN_USAGE);
  }
}

/**
 * Runs the `tributary` command in this process and returns its exit code (0 ok, 1 failure, 2 wrong command
 * line, 130 prompt cancelled). Everything written is masked: no secret value is ever printed.
 * @example
 * import { Readable } from "node:stream";
 * const code = await runCli(["secrets", "set", "SLACK_BOT_TOKEN"], {
 *   stdin: Readable.from(["xoxb-…\n"]),
 *   env: { TRIBUTARY_HOME: "/tmp/tributary-test" },
 * });
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const output = new CliOutput(io.stdout ?? process.stdout, io.stderr ?? process.stderr);
  const ctx: CommandContext = { output, stdin: () => io.stdin ?? process.stdin };
  const json = argv.includes("--json");
  return withEnv(io.env, async () => {
    try {
      return await dispatch(argv, ctx);
    } catch (error) {
      if (UsageError.isInstance(error)) {
        output.err(`error: ${error.message}\n\n${error.usage}`);
        return EXIT_CODES.usage;
      }
      if (PromptCancelledError.isInstance(error)) {
        output.err(`error: ${error.message}`);
        return EXIT_CODES.cancelled;
      }
      const message = error instanceof Error ? error.message : String(error);
      const code = TributaryError.isInstance(error) ? error.code : "UNEXPECTED";
      if (json) output.json({ ok: false, error: { code, message } });
      output.err(`error: ${message}`);
      return EXIT_CODES.failure;
    }
  });
}
