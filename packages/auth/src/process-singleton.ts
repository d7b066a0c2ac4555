/**
 * Returns the one instance of a piece of process state, shared by every copy of the package that is loaded
 * (the ESM and CJS builds, or two installed versions), so that run contexts, the masker and caches never split.
 */
export function processSingleton<T>(key: string, create: () => T): T {
  const slot = Symbol.for(`tributary.${key}`);
  const scope = globalThis as Record<symbol, unknown>;
  if (!(slot in scope)) scope[slot] = create();
  return scope[slot] as T;
}
