import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SecretBackendError } from "./errors.js";
import { processSingleton } from "./process-singleton.js";
import { assertSecretName } from "./secret-definition.js";

/** A remote or mounted secret store (AWS Secrets Manager, GCP Secret Manager, a mounted folder …). */
export interface SecretBackend {
  /**
   * Returns the secret's value — text, or an already-parsed object — or `undefined` when the backend has no
   * such secret. Throws a `SecretBackendError` for anything else (denied, throttled, unreachable).
   */
  get(name: string): Promise<string | Record<string, unknown> | undefined>;
  /** A short description naming the backend and where it reads, such as `directory /var/run/secrets/app`. */
  describe(): string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

const holder = processSingleton("auth.backends", () => ({ backends: [] as readonly SecretBackend[] }));

/**
 * Sets the secret backends asked, in order, after the local store — only for names a flow or its storage
 * declares, or that a task asks for by `secretName`. Replaces what was configured before.
 * @example
 * configureBackends([directoryBackend("/var/run/secrets/tributary"), awsSecretsManagerBackend({ region: "eu-west-1" })]);
 */
export function configureBackends(backends: readonly SecretBackend[]): void {
  holder.backends = Object.freeze([...backends]);
}

/** The backends set by `configureBackends`. */
export function configuredBackends(): readonly SecretBackend[] {
  return holder.backends;
}

/**
 * A backend reading one file per secret name from a folder, as Kubernetes mounts a secret volume. One trailing
 * line break is dropped (files written with `echo` have one); nothing else is changed.
 * @example
 * configureBackends([directoryBackend("/var/run/secrets/tributary")]);
 */
export function directoryBackend(path: string): SecretBackend {
  const description = `directory ${path}`;
  return {
    describe: () => description,
    async get(name) {
      // The name becomes a path: only a valid secret name can never leave the folder.
      assertSecretName(name);
      try {
        const bytes = await readFile(join(path, name));
        return utf8.decode(bytes).replace(/\r?\n$/, "");
      } catch (error) {
        const code =
          error instanceof TypeError ? "not valid UTF-8 text" : (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return undefined;
        throw new SecretBackendError(
          "SECRET_BACKEND_FAILED",
          `Cannot read secret ${name} from ${description}: ${code ?? "read failed"}`,
          description,
          name,
          { cause: error },
        );
      }
    },
  };
}
