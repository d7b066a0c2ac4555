import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
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

  it("a stream that fails while its folder is busy: no temporary file appears, then or later", async () => {
    // Other threads create and remove files in the same folder, so opening a temporary file can wait for the
    // folder while its failure is already reported: the file must not be removed before its open has finished.
    const d = dir();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const churns = Array.from(
      { length: 3 },
      (_, n) =>
        new Worker(
          `const { writeFileSync, unlinkSync } = require("node:fs");
          const { dir, stop, n } = require("node:worker_threads").workerData;
          for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
            if (i === 10) require("node:worker_threads").parentPort.postMessage("busy");
            writeFileSync(dir + "/churn-" + n + "-" + (i % 50), "x");
            unlinkSync(dir + "/churn-" + n + "-" + (i % 50));
          }`,
          { eval: true, workerData: { dir: d, stop, n } },
        ),
    );
    const ended = Promise.all(churns.map((churn) => new Promise((resolve) => churn.once("exit", resolve))));
    await Promise.all(churns.map((churn) => new Promise((resolve) => churn.once("message", resolve))));
    const failing = () =>
      new Readable({
        read() {
          this.destroy(new Error("connection reset"));
        },
      });
    try {
      for (let round = 0; round < 80; round++) {
        const writes = Array.from({ length: 8 }, (_, i) =>
          writeFileAtomic(join(d, `f${round}-${i}.bin`), failing()),
        );
        for (const result of await Promise.allSettled(writes)) expect(result.status).toBe("rejected");
      }
    } finally {
      Atomics.store(stop, 0, 1);
      await ended;
    }
    expect(readdirSync(d).filter((name) => !name.startsWith("churn-"))).toEqual([]);
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
