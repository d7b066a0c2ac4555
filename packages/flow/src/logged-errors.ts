/** Errors already logged in full, with where: later log lines about the same error point there instead. */
const logged = new WeakMap<object, string>();

/**
 * @internal The `error` field for a log line about `error`: the error itself the first time, then a reference to
 * where it was logged ("logged above by task extract, run 1f…"). `where` is recorded on the first call.
 */
export function errorField(error: unknown, where: string): unknown {
  if (typeof error !== "object" || error === null) return error;
  const earlier = logged.get(error);
  if (earlier !== undefined) return `logged above by ${earlier}`;
  logged.set(error, where);
  return error;
}
