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
  doctor                check every secret and the store file; exit 1 when something set is invalid

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
export const SET_USAGE = `Usage: tributary secrets set NAME

Stores a secret in the local store (secrets.json in $TRIBUTARY_HOME, created with mode 600).
The value is never taken from the command line, where other users (ps) and shell history see it:
  - piped:     tributary secrets set NAME < value.txt
               printf '%s' "$VALUE" | tributary secrets set NAME
    One trailing line break of piped input is dropped (\\n or \\r\\n); everything else is kept as it is.
  - terminal:  tributary secrets set NAME   (type or paste the value at a hidden prompt, then Enter)
               Multi-line values (PEM keys, JSON files) are best piped from a file.
Registered names are checked against their schema first and nothing is stored when the value is malformed;
JSON-shaped names (AWS_CREDENTIALS, GCP_CREDENTIALS, GITHUB_APP_CREDENTIALS) must be JSON. Unregistered
names are stored as text, with a warning that nothing checks them.
Prints where the value was stored, never the value.

Options:
  -h, --help            show this help

${ENVIRONMENT}

Exit codes: 0 stored, 1 not stored (malformed value, store problem, empty input), 2 wrong command line
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
export const DOCTOR_USAGE = `Usage: tributary doctor [--check] [--json]

Answers "which credentials are being used?": checks the local store file (permissions, contents), then
resolves every secret name as a task started from this shell would (environment, local store, then the
library default such as GITHUB_TOKEN or the AWS SDK chain), and says for each where it comes from,
whether it is valid, and which other places hold a value that is not used. Never prints values.
Secret backends (AWS Secrets Manager, GCP Secret Manager …) are configured by flows, so doctor does not ask them.

Options:
  --check               also prove each credential that resolves with one cheap live call, and say whose it
                        is (STS GetCallerIdentity, a Google token exchange, Slack auth.test, GitHub GET /user)
  --json                print a JSON document instead of a report
  -h, --help            show this help

Exit codes: 0 nothing set is invalid (missing secrets are fine, and reported), 1 a value is invalid, the
store file has a problem, or (with --check) a service rejected a credential, 2 wrong command line.`;
