import { TributaryError, ValidationError } from "@tributary/auth";
import type { CliOutput, CliReadable } from "./cli-io.js";

/** The largest value `secrets set` accepts (1 MiB): a secret, not a file dump. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** Thrown when the user cancels the hidden prompt with Ctrl-C. */
export class PromptCancelledError extends TributaryError {
  static override readonly errorName: string = "PromptCancelledError";
  constructor() {
    super("PROMPT_CANCELLED", "Cancelled; nothing was stored.");
  }
}

/**
 * Reads a secret value: through a hidden prompt (no echo) when `stdin` is a terminal, else everything piped in.
 * One trailing line break (`\n` or `\r\n`) of piped input is dropped, as `echo` and most editors add one.
 */
export async function readSecretInput(stdin: CliReadable, output: CliOutput, name: string): Promise<string> {
  const text = stdin.isTTY
    ? await readHiddenLine(stdin, output, `Value for ${name} (input hidden, Enter to finish): `)
    : (await readAll(stdin)).replace(/\r?\n$/, "");
  if (text.length === 0) {
    throw new ValidationError(
      "value",
      `no value for ${name} on stdin; nothing was stored. Pipe the value in (\`tributary secrets set ${name} < file\`) or run it in a terminal to be prompted.`,
    );
  }
  return text;
}

async function readAll(stdin: CliReadable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > MAX_SECRET_BYTES) {
      throw new ValidationError(
        "value",
        `the value on stdin is larger than ${MAX_SECRET_BYTES} bytes; nothing was stored.`,
      );
    }
    chunks.push(buffer);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ValidationError(
      "value",
      "the value on stdin is not valid UTF-8 text; nothing was stored (it would not read back as it was written).",
    );
  }
}

/**
 * Reads one line from a terminal in raw mode, so nothing typed or pasted is echoed. Backspace deletes, Enter or
 * Ctrl-D finishes, Ctrl-C cancels, escState sequences (arrow keys, bracketed paste markers) are ignored.
 */
export function readHiddenLine(stdin: CliReadable, output: CliOutput, prompt: string): Promise<string> {
  const wasRaw = stdin.isRaw === true;
  // Raw mode before the prompt: anything typed as soon as the prompt shows must not be echoed.
  stdin.setRawMode?.(true);
  output.prompt(prompt);
  return new Promise<string>((resolve, reject) => {
    let value = "";
    let escState: "none" | "start" | "csi" = "none";
    const finish = (error?: Error) => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      output.err("");
      if (error) reject(error);
      else resolve(value);
    };
    const onEnd = () => finish();
    const onData = (chunk: string | Buffer) => {
      const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
      for (const ch of text) {
        if (escState === "start") {
          escState = ch === "[" || ch === "O" ? "csi" : "none";
          continue;
        }
        if (escState === "csi") {
          if (/[A-Za-z~]/.test(ch)) escState = "none";
          continue;
        }
        if (ch === "\u001b") escState = "start";
        else if (ch === "\r" || ch === "\n" || ch === "\u0004") return finish();
        else if (ch === "\u0003") return finish(new PromptCancelledError());
        else if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
        else if (ch === "\t" || ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}
