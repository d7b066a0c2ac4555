/**
 * How long closing an agent (after its grace period) or a run queue waits for Redis before it ends its connections
 * and stops without it, in ms.
 */
export const REDIS_STOP_MS = 5_000;

/** What ioredis clients and BullMQ's raw clients share, for ending them. */
interface RedisClientLike {
  readonly status: string;
  connect(): Promise<unknown>;
  disconnect(): void;
}

/**
 * Ends a Redis client for good, failing the commands that wait on it. A client waiting to reconnect has no socket,
 * and its `disconnect()` only cancels the attempt: it waits on for ever, and so does whatever waits for it to end
 * (BullMQ's `close` and `disconnect`). One more attempt, made as it disconnects, ends it whether Redis answers or not.
 */
function endClient(client: RedisClientLike): void {
  const waiting = client.status === "reconnecting";
  client.disconnect();
  if (!waiting) return;
  client.connect().then(
    () => client.disconnect(),
    () => {},
  );
}

/**
 * Waits for `closing` (BullMQ's close of a worker or of queue events, with any last writes before it) while Redis
 * answers. BullMQ and ioredis wait for an unreachable Redis for ever: after `REDIS_STOP_MS` this ends the clients
 * `closing` waits on instead, so that it finishes and nothing of them keeps the process alive, and resolves to
 * `false`. `true` when `closing` finished in time.
 */
export async function closeWithin(
  closing: Promise<unknown>,
  clients: () => Promise<readonly (RedisClientLike | undefined)[]>,
): Promise<boolean> {
  let stopWaiting: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    closing.then(() => true),
    new Promise<false>((resolve) => {
      stopWaiting = setTimeout(() => resolve(false), REDIS_STOP_MS);
    }),
  ]);
  clearTimeout(stopWaiting);
  if (!done) {
    for (const client of await clients()) if (client) endClient(client);
  }
  return done;
}
