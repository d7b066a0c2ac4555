const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * The system code of a failure that happened on the network rather than at the service (a reset connection, a
 * refused one, a DNS failure), looked for along the `cause` chain; `undefined` for anything else. Integrations treat
 * these as retryable.
 */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR"))) return code;
    if ((e as { type?: unknown }).type === "system" && typeof code === "string") return code;
  }
  const message = String((error as { message?: unknown } | null | undefined)?.message ?? "");
  if (/socket hang up|premature close|ECONNRESET|EPIPE|other side closed|terminated/i.test(message))
    return "ECONNRESET";
  return undefined;
}
