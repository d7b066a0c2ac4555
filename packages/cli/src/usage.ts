import { version } from "../package.json";

/** The version of `@tributary/cli`, printed by `tributary --version`. */
export const CLI_VERSION: string = version;

const ENVIRONMENT = `Environment:
  TRIBUTARY_HOME                        folder of the local store (default: $XDG_CONFIG_HOME/tributary,
                                        else ~/.config/tributary); the store file is secrets.json in it
  TRIBUTARY__CONTEXT__SECRETS__<NAME>   a secret in the environment; wins over the local store`;

/** `tributary --help`. */
export const MAIN_USAGE = `tributary ${version}: manage local secrets and see which credentials are used

Usage: tributary <command> [options]

Commands:
  secrets set NAME      store a secret in the local store; the value is read from stdin or a hidden prompt
  secrets list          every secret name: where it resolves from, valid or not (never values)
  secrets rm NAME       remove a secret from the local store
  doctor                check every secret, the SDK default chains and the store file; exit 1 when
                        something set is invalid
  deploy FILE           bundle a flow and write it to its storage; prints the deployment's address
                        (--sign: signed with TRIBUTARY_SIGNING_KEY)
  run ADDRESS           pull a deployment with its storage's secrets and run it here (--queue Q: on agents)
  verify ADDRESS        check a deployment's signature under the keys you trust; who signed it, when, where
  keys generate         make a signing key: the private key goes to the local store, the public key is printed
  keys public [NAME]    print the public key of a stored signing key
  agent start           take flow runs from a queue on Redis and run them with the secrets given by -e
  agent ls              the agents alive now
  runs ls --queue Q     the run history of a queue: newest first, filtered by flow, state and time
  runs show RUN_ID      one run's record: masked report, task timeline, credential table, logs
  schedule add ADDRESS  run a deployment on a cron expression or an interval (schedule ls, rm, pause, resume)
  ui --queue Q          a web dashboard of runs, schedules and agents, and of each run's credentials

Options:
  -h, --help            show help (also: tributary <command> --help)
  -v, --version         print the version

${ENVIRONMENT}

Exit codes: 0 ok, 1 failure (invalid value, store problem), 2 wrong command line.`;

/** `tributary secrets --help`. */
export const SECRETS_USAGE = `Usage: tributary secrets <set|list|rm> [options]

  secrets set NAME      store a secret in the local store; the value is read from stdin or a hidden prompt
  secrets list [--json] every secret name: where it resolves from, valid or not (never values)
  secrets rm NAME       remove a secret from the local store

Run tributary secrets <command> --help for details.`;

/** `tributary secrets set --help`. */
export const SET_USAGE = `Usage: tributary secrets set NAME [--force]

Stores a secret in the local store (secrets.json in $TRIBUTARY_HOME, created with mode 600).
The value is never taken from the command line, where other users (ps) and shell history see it:
  - piped:     tributary secrets set NAME < value.txt
               printf '%s' "$VALUE" | tributary secrets set NAME
    One trailing line break of piped input is dropped (\\n or \\r\\n); everything else is kept as it is.
  - terminal:  tributary secrets set NAME   (type or paste the value at a hidden prompt, then Enter)
               Multi-line values (PEM keys, JSON files) are best piped from a file.
Registered names are checked against their schema first and nothing is stored when the value is malformed;
JSON-shaped names (AWS_CREDENTIALS, GCP_CREDENTIALS, GITHUB_APP_CREDENTIALS) must be JSON, and a field
they do not have is named (with the field it looks like). Unregistered names are stored as text, with a
warning that nothing checks them; an unregistered name that looks like a registered one (AWS_CREDENTAILS)
is refused before the value is read, unless --force is given.
Prints where the value was stored, never the value.

Options:
  --force               store under an unregistered NAME even when it looks like a misspelled registered one
  -h, --help            show this help

${ENVIRONMENT}

Exit codes: 0 stored, 1 not stored (malformed value, misspelled name, store problem, empty input), 2 wrong command line
(including a value given as an argument), 130 prompt cancelled.`;

/** `tributary secrets list --help`. */
export const LIST_USAGE = `Usage: tributary secrets list [--json]

Lists every registered secret name, plus any other name found in the local store or in
TRIBUTARY__CONTEXT__SECRETS__* variables, with where each resolves from (as a task started from this
shell would see it: environment, then local store), whether the value is valid, and which other places
also hold a value but are not used. Never prints values.

Options:
  --json                print a JSON document instead of a table
  -h, --help            show this help

Exit codes: 0 listed (invalid values are listed, not failures: see tributary doctor), 1 the store file
cannot be read (unsafe permissions, corrupt), 2 wrong command line.`;

/** `tributary secrets rm --help`. */
export const RM_USAGE = `Usage: tributary secrets rm NAME

Removes NAME from the local store. Environment variables are not touched.

Options:
  -h, --help            show this help

Exit codes: 0 removed, 1 NAME was not in the store (or the store cannot be read), 2 wrong command line.`;

/** `tributary doctor --help`. */
export const DOCTOR_USAGE = `Usage: tributary doctor [--check] [--json] [--strict] [--config FILE]

Answers "which credentials are being used?": checks the local store file (permissions, contents), then
resolves every secret name as a task started from this shell would (environment, local store, the backends
of the config file, then the library default: GITHUB_TOKEN, or the AWS SDK chain and Google ADC), and says
for each where it comes from, whether it is valid, and which other places hold a value that is not used.
Never prints values.

The SDK default chains are read without the network: for AWS the env keys, the profile in ~/.aws/config and
~/.aws/credentials (keys, an assumed role, SSO with its cached token, credential_process), a web identity
token; for Google GOOGLE_APPLICATION_CREDENTIALS and gcloud's application_default_credentials.json. A
credential only a metadata endpoint can give (an instance role) is reported as unverified.

Backends come from tributary.config.ts, .js, .mjs or .json in this folder, or --config FILE:
  tributary.config.json   { "backends": [{ "directory": "/var/run/secrets/app" }] }
  tributary.config.js     export default { backends: [awsSecretsManagerBackend({ region: "eu-west-1" })] }
Values given to a run (flow.run({ secrets })) are not visible to doctor.

An unregistered name that looks like a registered one (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTAILS) gets
a WARNING line.

Options:
  --check               also prove each credential that resolves with one cheap live call, and say whose it
                        is (STS GetCallerIdentity, a Google token exchange, Slack auth.test, GitHub GET /user)
  --config FILE         read the backends from FILE instead of looking for tributary.config.*
  --strict              exit 1 on warnings too (misspelled names)
  --json                print a JSON document instead of a report
  -h, --help            show this help

Exit codes: 0 nothing set is invalid (missing secrets are fine, and reported), 1 a value is invalid, the
store file has a problem, the config file cannot be read, (with --check) a service rejected a credential, or
(--strict) a name looks misspelled, 2 wrong command line.`;

const REDIS_ENV = `Environment:
  TRIBUTARY_REDIS_URL                   the Redis of the queues when --redis is not given (redis://[:password@]host:port);
                                        its password is masked wherever it is printed`;

/** \`tributary agent --help\`. */
export const AGENT_USAGE = `Usage: tributary agent <start|ls> [options]

  agent start --queue Q   take flow runs from queue Q and run them with the secrets given by -e
  agent ls [--queue Q]    the agents alive now (by heartbeat)

Run tributary agent <command> --help for details.`;

/** \`tributary agent start --help\`. */
export const AGENT_START_USAGE = `Usage: tributary agent start --queue Q [-e NAME | -e NAME=VALUE]... [options]

Takes flow runs from queue Q (BullMQ on Redis) and runs each one, until SIGTERM or SIGINT. Start more agents,
on as many machines as you like, to share a queue. A run gets its secrets from the agent, never from the queue:
  -e NAME          pass this machine's own value of NAME (environment, then local store), looked up for each run
  -e NAME=VALUE    pass VALUE as NAME (visible to other users of this machine in ps: prefer -e NAME)
Each run is its own child process (\`tributary run ADDRESS --json\`) whose environment holds only the -e secrets
(as TRIBUTARY__CONTEXT__SECRETS__<NAME>) and PATH, HOME, TZ, LANG, LC_*, TMPDIR; it does not see this machine's
local store. On SIGTERM the agent takes no more runs, lets running ones finish for up to --grace seconds, then
leaves them for other agents; a second SIGTERM or SIGINT leaves them at once. The runs of an agent that dies
(SIGKILL, a crash, its machine or network gone) are taken again by the other agents within --stall-timeout seconds:
give every agent of a queue the same value.

Options:
  --queue Q               the queue to take runs from (required)
  -e, --env NAME[=VALUE]  a secret passed to every run (repeatable)
  --concurrency N         how many runs at once (default 1)
  --grace SECONDS         how long running runs may finish after SIGTERM (default 30)
  --stall-timeout SECONDS how soon another agent takes the runs of an agent that died (default 30); an agent
                          whose process stalls for more than a quarter of it may lose its runs to other agents
  --isolation MODE        child-process (default) or in-process: faster, for flows you trust; runs share
                          this process and its environment
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --name NAME             the agent's name in agent ls (default host:pid:random)
  --keep-runs N           keep the records of the last N completed and the last N failed runs (default 1000)
  --keep-days D           keep a run's record at most D days after it ended (default 30)
  --config FILE           read leastPrivilege, the default of every run whose flow does not set it, and
                          trustedKeys from FILE instead of tributary.config.ts, .js, .mjs or .json in this folder
  --trust-key FILE        run only deployments signed by this public key, for their address (repeatable: several
                          keys during a rotation); a run that fails is marked failed with UNTRUSTED_DEPLOYMENT and
                          its reason, before any of its code is imported. Default: the config file's trustedKeys;
                          with neither, nothing is verified (and a note says so at start)
  -h, --help              show this help

${REDIS_ENV}

Exit codes: 0 stopped by a signal, 1 could not start (a -e secret not found, Redis unreachable, the config file
or a trusted key cannot be read) or stopped without Redis (it did not answer 5 s past the grace period), 2 wrong
command line.`;

/** \`tributary agent ls --help\`. */
export const AGENT_LS_USAGE = `Usage: tributary agent ls [--queue Q] [--json]

Lists the agents alive now, from their heartbeats in Redis: name, queue, isolation, runs going, the secret
names they pass (never values), when last seen.

Options:
  --queue Q               only the agents of queue Q
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print a JSON document instead of a table
  -h, --help              show this help

${REDIS_ENV}`;

/** \`tributary runs --help\`. */
export const RUNS_USAGE = `Usage: tributary runs <ls|show> --queue Q [options]

  runs ls --queue Q           the run history of queue Q, newest first
  runs show RUN_ID --queue Q  one run's record: masked report, task timeline, credential table, logs

Run tributary runs <command> --help for details.`;

/** \`tributary runs ls --help\`. */
export const RUNS_LS_USAGE = `Usage: tributary runs ls --queue Q [--flow F] [--state S]... [--since D] [--limit N] [--json]

Prints how many runs of queue Q are waiting, delayed (between retries), running, completed and failed, then the
latest runs, newest first: run id, flow, state, when it started, how long it took, the agent that took it, the
schedule that made it and, for failed and skipped runs, the masked error. Runs are kept as long as the agents
keep them (agent start --keep-runs, --keep-days).

Options:
  --queue Q               the queue (required)
  --flow F                only runs of flow F (its name, or its deployment address)
  --state S               only runs in state S: waiting, delayed, running, completed, failed or skipped
                          (a scheduled run not started because the previous one was still running; repeatable)
  --schedule NAME         only runs made by schedule NAME
  --since D               only runs started in the last D (30m, 12h, 7d) or since a date (2026-12-01)
  --limit N               at most N runs (default 20)
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print a JSON document instead of a table
  -h, --help              show this help

${REDIS_ENV}`;

/** \`tributary ui --help\`. */
export const UI_USAGE = `Usage: tributary ui --queue Q [--queue Q2]... [--host H] [--port P] [--token-secret NAME] [--allow-actions]

Serves a web dashboard of the queues' runs (newest first, filtered by queue, flow, state and time), each run's
masked report, task timeline, log lines and credential table (name, source, scope, principal), the schedules
with their next fire times and last runs, and the agents alive now. Pages follow runs live (server-sent events).
A JSON API serves the same: /api/runs, /api/runs/RUN_ID, /api/schedules, /api/agents.

Options:
  --queue Q               a queue to show (required; repeatable)
  --host H                the address to listen on (default 127.0.0.1); any other needs a token
  --port P                the port (default 4600; 0 picks a free one)
  --token-secret NAME     require the token held by secret NAME (resolved like any secret); sent as
                          "Authorization: Bearer TOKEN" or through the login form (16 characters or more)
  --allow-actions         serve the actions: queue a run, retry a failed run, pause or resume a schedule
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  -h, --help              show this help

Environment:
  TRIBUTARY_UI_TOKEN      the token, when --token-secret is not given
  TRIBUTARY_REDIS_URL     the Redis URL when --redis is not given (default redis://127.0.0.1:6379)`;

/** \`tributary runs show --help\`. */
export const RUNS_SHOW_USAGE = `Usage: tributary runs show RUN_ID --queue Q [--logs] [--json]

Prints one run's record, as the agent that ran it kept it in Redis: its state, flow, schedule, agent, times and
attempts; the masked error and the task it ended in; the task timeline (each task's start, duration, attempts and
state); and its credential table: each secret it resolved, where from (agent -e, env, store, backend …), the scope
least privilege gave it and the principal when known. Never a value: the record is built from the run's masked
output. A scheduled run's id is NAME@<slot, ISO 8601>, such as nightly@2026-12-08T01:00:00.000Z.

Options:
  --queue Q               the queue (required)
  --logs                  also print the run's log lines (the last 1,000 lines or 1 MiB, masked)
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print the record as JSON
  -h, --help              show this help

${REDIS_ENV}

Exit codes: 0 printed, 1 no such run on the queue (never queued, or past the agents' retention).`;

/** \`tributary schedule --help\`. */
export const SCHEDULE_USAGE = `Usage: tributary schedule <add|ls|rm|pause|resume> [options]

  schedule add ADDRESS --queue Q (--cron EXPR [--tz ZONE] | --every DURATION)   add a schedule
  schedule ls --queue Q                  the schedules of queue Q, with their next fire times
  schedule rm NAME --queue Q             remove a schedule (its runs stay in the history)
  schedule pause NAME --queue Q          stop it firing
  schedule resume NAME --queue Q         start it again, from its next slot

Run tributary schedule <command> --help for details.`;

/** \`tributary schedule add --help\`. */
export const SCHEDULE_ADD_USAGE = `Usage: tributary schedule add ADDRESS --queue Q (--cron EXPR [--tz ZONE] | --every DURATION) [options]

Runs the deployment at ADDRESS on queue Q at every slot of a cron expression or interval, on BullMQ's job
schedulers: each slot fires once however many agents listen, and its run's id is NAME@<slot, ISO 8601>, so a slot
never runs twice. A slot that comes due while no agent is up waits on the queue for the next agent. The cron
expression and zone are checked (as BullMQ reads them) before anything is written; params holding a secret value
of this machine are refused, as with run --queue.

Options:
  --queue Q               the queue (required)
  --cron EXPR             a cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first
  --tz ZONE               the IANA time zone of --cron (default UTC), such as Europe/Berlin
  --every DURATION        an interval instead of --cron: 30s, 15m, 2h, 1d (1 s or more)
  --params JSON           each run's parameters, such as '{"region":"eu"}'
  --name NAME             the schedule's name (default: the address's last part)
  --no-overlap            skip a slot while the schedule's previous run is still running (the skip is recorded)
  --retries N             try a failed run up to N more times (exponential backoff from 1 s)
  --replace               change the schedule NAME when it exists, instead of refusing
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print the schedule as JSON
  -h, --help              show this help

${REDIS_ENV}`;

/** \`tributary schedule ls --help\`. */
export const SCHEDULE_LS_USAGE = `Usage: tributary schedule ls --queue Q [--json]

Lists the schedules of queue Q: name, address, cron expression and zone or interval, the next three fire times,
whether it is paused, and the states of its latest runs.

Options:
  --queue Q               the queue (required)
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print a JSON document instead of a table
  -h, --help              show this help

${REDIS_ENV}`;

/** \`tributary schedule rm|pause|resume --help\`. */
export const SCHEDULE_NAME_USAGE = `Usage: tributary schedule rm NAME --queue Q [--json]
       tributary schedule pause NAME --queue Q [--json]
       tributary schedule resume NAME --queue Q [--json]

rm removes the schedule NAME (the runs it made stay in the history); pause stops it firing (slots that come due
while it is paused are not run later); resume starts it again from its next slot.

Options:
  --queue Q               the queue (required)
  --redis URL             the Redis URL (default: TRIBUTARY_REDIS_URL)
  --json                  print the result as JSON
  -h, --help              show this help

${REDIS_ENV}`;

/** \`tributary deploy --help\`. */
export const DEPLOY_USAGE = `Usage: tributary deploy FILE [--storage ADDRESS] [--flow NAME] [--sign] [--signing-key NAME] [--config FILE]
                        [--json]

Bundles the flow module FILE with esbuild (your code in one ES module; @tributary/*, Node built-ins and the
packages of your package.json stay external, to be installed where it runs), writes the bundle and its
manifest (flow name, secret names, sha256, @tributary/* versions) to the flow's storage, and prints the
deployment's address and the secret names a run needs, never a value.
Refused: a bundle that contains the value of a secret resolvable here (a token pasted into code), a flow
without storage and no --storage, a file that does not compile.

Options:
  --storage ADDRESS     where to deploy, instead of the flow's storage: s3://bucket/prefix/,
                        gs://bucket/prefix/, github://owner/repo/path@ref, file:///folder
  --flow NAME           which flow, when the module exports several
  --sign                sign the deployment for its address with the Ed25519 key in TRIBUTARY_SIGNING_KEY
                        (resolved like any secret: environment, local store, then the backends of the config
                        file tributary.config.* here or --config FILE), written as manifest.sig.json
                        (a DSSE envelope over an in-toto statement); agents with --trust-key run only signed code
  --signing-key NAME    sign with the key held by secret NAME instead (implies --sign)
  --config FILE         with --sign: the config file whose backends may hold the signing key
  --json                print { address, flow, secrets, sha256, size, signedBy } as JSON
  -h, --help            show this help

Exit codes: 0 deployed, 1 failure (nothing was written: also when the signing key cannot be found or read),
2 wrong command line.`;

/** \`tributary run --help\`. */
export const RUN_USAGE = `Usage: tributary run ADDRESS [--params JSON] [--run-id ID] [--json] [--config FILE] [--trust-key FILE]...
       tributary run ADDRESS --queue Q [--wait] [--retries N] [--params JSON] [--run-id ID] [--json]

Runs a deployment in this process: resolves the secrets its storage declares (run values, environment,
local store, backends), pulls the manifest and the bundle with them, checks the bundle's sha256 and the
@tributary/* versions before importing anything, and runs the flow with those secrets. Prints the masked
run report; logs go to stderr.

  ADDRESS               s3://bucket/prefix/NAME, gs://bucket/prefix/NAME, github://owner/repo/path/NAME@ref,
                        file:///folder/NAME (as printed by tributary deploy)

Options:
  --params JSON         the run's parameters, such as '{"day":"2026-11-25"}'
  --run-id ID           the run's id (default: a random UUID): letters, digits, '.', '_', '-', ':', '@'
  --json                print the run report as JSON on stdout (also when the pull failed)
  --config FILE         read leastPrivilege (the default for a flow that does not set it) from FILE instead of
                        tributary.config.ts, .js, .mjs or .json in this folder
  --least-privilege true|false
                        the run's leastPrivilege default, instead of the config file's
  --trust-key FILE      run only if the deployment is signed by this public key (repeatable; also PEM text),
                        for this address and this bundle: checked before anything is imported. Default: the
                        config file's trustedKeys; with neither, nothing is verified (and a note says so)
  --unverified          run without verifying, even when the config file names trusted keys; no note
  --queue Q             queue the run for the agents of queue Q (BullMQ on Redis) instead of running it here;
                        prints the run id, which is the runId the flow sees. The params must hold no secret
                        value: agents pass secrets (tributary agent start -e NAME)
  --wait                with --queue: follow the run and print its masked report; exit 0 only if it completed
  --retries N           with --queue: try a failed run up to N more times (exponential backoff from 1 s)
  --redis URL           with --queue: the Redis URL (default: TRIBUTARY_REDIS_URL)
  -h, --help            show this help

Endpoints: AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), STORAGE_EMULATOR_HOST and GITHUB_API_URL point the
storage at MinIO, moto or an emulator without changing the address.

Exit codes: 0 the run completed, 1 it failed or was cancelled (or the pull failed, the deployment is not trusted,
or the config file cannot be read), 2 wrong command line.`;

/** \`tributary verify --help\`. */
export const VERIFY_USAGE = `Usage: tributary verify ADDRESS [--trust-key FILE]... [--config FILE] [--json]

Checks a deployment without running it: reads its manifest and signature (manifest.sig.json) with its storage's
secrets, verifies the signature under the trusted keys, checks that it was signed for this address and that the
bundle in storage is the one signed. Prints who signed it (key id and label), when, and for which address.

Options:
  --trust-key FILE      a public key to trust (repeatable; also PEM text); default: the config file's trustedKeys
  --config FILE         read trustedKeys from FILE instead of tributary.config.ts, .js, .mjs or .json here
  --json                print { trusted, flow, address, keyId, label, signedAt, sha256 } (or { trusted: false,
                        reason, message }) as JSON
  -h, --help            show this help

Exit codes: 0 trusted, 1 not trusted (unsigned, unknown-key, bad-signature, digest-mismatch, wrong-address) or
the deployment cannot be read, 2 wrong command line (also: no trusted key given).`;

/** \`tributary keys --help\`. */
export const KEYS_USAGE = `Usage: tributary keys <generate|public> [options]

  keys generate [--name LABEL] [--secret NAME] [--out FILE]   make a signing key pair
  keys public [NAME]                                          print the public key of a stored signing key

Run tributary keys <command> --help for details.`;

/** \`tributary keys generate --help\`. */
export const KEYS_GENERATE_USAGE = `Usage: tributary keys generate [--name LABEL] [--secret NAME] [--out FILE] [--force] [--json]

Makes an Ed25519 key pair for signing deployments. The private key (PKCS#8 PEM) goes to the local store as
TRIBUTARY_SIGNING_KEY (or NAME) and is never printed; the public key is printed on stdout, with its key id
(the first 16 hex characters of the SHA-256 of its DER bytes) on stderr. Give the public key to agents
(agent start --trust-key FILE) and keep the private key where deploys run (for CI: a repository secret passed
as TRIBUTARY__CONTEXT__SECRETS__TRIBUTARY_SIGNING_KEY).

Options:
  --name LABEL          the key's human name (release, ci-2027), written in both PEM files; shown by verify
  --secret NAME         store the private key as NAME instead of TRIBUTARY_SIGNING_KEY
  --out FILE            also write the public key to FILE
  --force               replace a key already stored under that name (or an existing FILE): the old key is gone
  --json                print { keyId, secret, publicKey } as JSON
  -h, --help            show this help

Exit codes: 0 made and stored, 1 not made (a key is already stored under that name, the store cannot be
written), 2 wrong command line.`;

/** \`tributary keys public --help\`. */
export const KEYS_PUBLIC_USAGE = `Usage: tributary keys public [NAME] [--json]

Prints the public key of the signing key held by secret NAME (default TRIBUTARY_SIGNING_KEY), resolved like
any secret (environment, then local store), and its key id on stderr. Never prints the private key.

Options:
  --json                print { keyId, label, publicKey } as JSON
  -h, --help            show this help

Exit codes: 0 printed, 1 the secret is not set or is not an Ed25519 private key, 2 wrong command line.`;
