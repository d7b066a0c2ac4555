import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, isAddressInUse, launchServer, onFreePort } from "./server-process.js";

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      held.push(server);
      resolve(server);
    });
  });
}

describe("the ports of the servers the tests start", () => {
  it("are chosen below Linux's ephemeral range, where no outgoing connection or listen(0) takes them", async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      await listen(port);
    }
  });

  it("a port taken between its choice and the server's bind: the server is started again on another", async () => {
    const tried: number[] = [];
    const server = await onFreePort(async (port) => {
      tried.push(port);
      // The first time, somebody else binds the port first.
      if (tried.length === 1) await listen(port);
      return listen(port);
    });
    expect(tried).toHaveLength(2);
    expect(tried[1]).not.toBe(tried[0]);
    expect(server.address()).toMatchObject({ port: tried[1] });
  });

  it("any other failure is thrown at once, and a port taken every time gives up after the attempts", async () => {
    let calls = 0;
    await expect(
      onFreePort(async () => {
        calls += 1;
        throw new Error("moto_server exited with code 1 before it was ready: No module named flask");
      }),
    ).rejects.toThrow(/No module named flask/);
    expect(calls).toBe(1);
    calls = 0;
    const taken = (await listen(0)).address() as { port: number };
    await expect(
      onFreePort(async () => {
        calls += 1;
        return listen(taken.port);
      }, 3),
    ).rejects.toThrow(/EADDRINUSE/);
    expect(calls).toBe(3);
  });

  it.each([
    ["redis-server", (port: number) => ["--port", String(port), "--bind", "127.0.0.1", "--save", ""]],
    ["moto_server", (port: number) => ["-p", String(port), "-H", "127.0.0.1"]],
  ])("%s on a taken port: the error says so in words onFreePort recognises", async (command, args) => {
    const port = await freePort();
    await listen(port);
    const server = {
      command,
      args,
      install: "",
      ready: async () => false,
      startTimeoutMs: 20_000,
      pollMs: 50,
    };
    const error = await launchServer(server, port).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isAddressInUse((error as Error).message), String(error)).toBe(true);
  });
});
