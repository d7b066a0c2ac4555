import { describe, expect, it } from "vitest";
import { createClientCache, credentialFingerprint } from "./client-cache.js";
import { Secret } from "./secret.js";

describe("credentialFingerprint", () => {
  it("is stable across key order, differs between values and never contains the value", () => {
    const a = credentialFingerprint({ ACCESS_KEY: "AKIDFINGER", SECRET_ACCESS_KEY: "fingerprint-secret" });
    const b = credentialFingerprint({ SECRET_ACCESS_KEY: "fingerprint-secret", ACCESS_KEY: "AKIDFINGER" });
    const c = credentialFingerprint({ ACCESS_KEY: "AKIDFINGER", SECRET_ACCESS_KEY: "other-secret" });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).not.toContain("AKIDFINGER");
    expect(credentialFingerprint(new Secret("X", "v1"))).toBe(credentialFingerprint("v1"));
  });
});

describe("createClientCache", () => {
  it("makes one client per key for a thousand requests", () => {
    const cache = createClientCache();
    const key = `s3:${credentialFingerprint("k")}:eu-west-1`;
    const clients = new Set(Array.from({ length: 1000 }, () => cache.get(key, () => ({}))));
    expect(clients.size).toBe(1);
    expect(cache.stats()).toEqual({ created: 1, hits: 999, size: 1 });
  });

  it("evicts the least recently used past its bound and disposes what leaves", () => {
    const disposed: string[] = [];
    const cache = createClientCache({ max: 2 });
    const make = (k: string) => cache.get(k, () => k, { dispose: (c) => disposed.push(c) });
    make("a");
    make("b");
    make("a");
    make("c");
    expect(disposed).toEqual(["b"]);
    expect(cache.stats().size).toBe(2);
    cache.clear();
    expect(disposed.sort()).toEqual(["a", "b", "c"]);
  });

  it("replaces a client whose credentials expired", () => {
    const cache = createClientCache();
    let made = 0;
    const get = (expiresAt: number) => cache.get("k", () => ++made, { expiresAt });
    expect(get(Date.now() - 1)).toBe(1);
    expect(get(Date.now() + 60_000)).toBe(2);
    expect(get(Date.now() + 60_000)).toBe(2);
  });
});
