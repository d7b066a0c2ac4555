import { ValidationError } from "@tributary/auth";

/** Where an endpoint came from: the option, or the environment variable that set it. */
export interface EndpointChoice {
  /** The base URL, without a trailing slash; `undefined` when neither the option nor the environment gave one. */
  url: string | undefined;
  /** `endpoint` (the option), or the name of the environment variable. */
  from: string | undefined;
}

/**
 * Picks a client's endpoint the way every integration does: the `endpoint` option, else the first of the service's
 * own environment variables that is set (`AWS_ENDPOINT_URL_S3`, `STORAGE_EMULATOR_HOST`, `GITHUB_API_URL`). It must
 * be a plain http(s) base URL; a bare `host:port` (as `STORAGE_EMULATOR_HOST` is often written) means `http://`.
 * A bad value is a `ValidationError` naming the option or the variable.
 * @example
 * const { url } = pickEndpoint(options.endpoint, ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
 */
export function pickEndpoint(option: string | undefined, envNames: readonly string[] = []): EndpointChoice {
  let raw = option;
  let from: string | undefined = option === undefined ? undefined : "endpoint";
  if (raw === undefined) {
    for (const name of envNames) {
      const value = process.env[name];
      if (value) {
        raw = value;
        from = name;
        break;
      }
    }
  }
  if (raw === undefined) return { url: undefined, from: undefined };
  const label = from === "endpoint" ? "endpoint" : `endpoint (from $${from})`;
  if (typeof raw !== "string" || raw === "") throw new ValidationError(label, "must be an http(s) base URL");
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new ValidationError(label, "must be an http(s) base URL such as http://127.0.0.1:9000");
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw new ValidationError(
      label,
      "must be a plain http(s) base URL such as http://127.0.0.1:9000 (no query, no credentials)",
    );
  }
  return { url: url.href.replace(/\/+$/, ""), from };
}
