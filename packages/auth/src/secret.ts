const VALUE = Symbol("tributary.secret.value");
/** The symbol `util.inspect` looks for; taken from the global registry so that `node:util` need not load. */
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * A secret value that prints as `[redacted:NAME]` in `String()`, template strings, `JSON.stringify` and
 * `util.inspect`. Call `.reveal()` where the value is really needed.
 * @example
 * const key = new Secret("SLACK_BOT_TOKEN", token);
 * console.log(`${key}`); // [redacted:SLACK_BOT_TOKEN]
 * client.auth(key.reveal());
 */
export class Secret<T = string> {
  /** The secret's name; safe to show. */
  readonly name: string;
  declare private readonly [VALUE]: T;

  constructor(name: string, value: T) {
    this.name = name;
    Object.defineProperty(this, VALUE, { value, enumerable: false });
  }

  /** Returns the value itself. */
  reveal(): T {
    return this[VALUE];
  }

  /** `[redacted:NAME]`: the value never shows in text. */
  toString(): string {
    return `[redacted:${this.name}]`;
  }

  /** `JSON.stringify` shows `[redacted:NAME]`. */
  toJSON(): string {
    return this.toString();
  }

  /** Template strings and `+` show `[redacted:NAME]`. */
  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  /** `util.inspect` and `console.log` show `[redacted:NAME]`. */
  [INSPECT](): string {
    return this.toString();
  }
}
