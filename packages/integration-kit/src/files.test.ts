import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ValidationError } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { checkDestination, openUploadSource, writeFileAtomic } from "./files.js";

const dir = () => mkdtempSync(join(tmpdir(), "tributary-files-"));

describe("writeFileAtomic", () => {
  it("writes the whole stream to the destination", async () => {
    const d = dir();
    const result = await writeFileAtomic(
      join(d, "out.txt"),
      Readable.from([Buffer.from("hello "), Buffer.from("world")]),
    );
    expect(readFileSync(join(d, "out.txt"), "utf8")).toBe("hello world");
    expect(result.bytes).toBe(11);
    expect(readdirSync(d)).toEqual(["out.txt"]);
  });

  it("leaves neither a partial file nor a temp file when the stream fails, and keeps an older file", async () => {
    const d = dir();
    const target = join(d, "keep.txt");
    writeFileSync(target, "old content");
    async function* failing() {
      yield Buffer.from("partial");
      throw new Error("connection reset");
    }
    await expect(writeFileAtomic(target, failing())).rejects.toThrow("connection reset");
    expect(readFileSync(target, "utf8")).toBe("old content");
    expect(readdirSync(d)).toEqual(["keep.txt"]);
    await expect(writeFileAtomic(join(d, "new.txt"), failing())).rejects.toThrow();
    expect(existsSync(join(d, "new.txt"))).toBe(false);
  });

  it("with flushEveryBytes, writes the same bytes, and still cleans up on failure", async () => {
    const d = dir();
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const result = await writeFileAtomic(join(d, "big.bin"), Readable.from(chunks), {
      flushEveryBytes: 64 * 1024,
    });
    expect(result.bytes).toBe(64 * 16 * 1024);
    expect(readFileSync(join(d, "big.bin")).equals(Buffer.concat(chunks))).toBe(true);
    async function* failing() {
      for (const c of chunks.slice(0, 20)) yield c;
      throw new Error("connection reset");
    }
    await expect(
      writeFileAtomic(join(d, "cut.bin"), failing(), { flushEveryBytes: 64 * 1024 }),
    ).rejects.toThrow();
    expect(readdirSync(d)).toEqual(["big.bin"]);
  });
});

describe("input checks before any request", () => {
  it.each([
    [{}, "file/body"],
    [{ file: "/x", body: "y" }, "file/body"],
    [{ file: "/no/such/file" }, "file"],
    [{ file: tmpdir() }, "file"],
    [{ body: 42 as never }, "body"],
  ])("openUploadSource(%j) is a ValidationError on %s", async (source, option) => {
    const error = await openUploadSource(source).catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.option).toBe(option);
  });

  it("gives sizes for known bodies", async () => {
    expect((await openUploadSource({ body: "héllo" })).size).toBe(6);
    expect((await openUploadSource({ body: Readable.from([]) })).size).toBeUndefined();
  });

  it.each(["/no/such/folder/file.txt", "", tmpdir()])(
    "checkDestination(%j) is a ValidationError",
    async (path) => {
      await expect(checkDestination(path)).rejects.toSatisfy((e) => ValidationError.isInstance(e));
    },
  );
});
