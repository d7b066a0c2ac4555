import { describe, expect, it } from "vitest";
import { iamPolicyAllows, parseIamPolicy } from "./aws-policy.js";
import { accessBoundaryAllows } from "./google-stand-in.js";
import { createOidcIssuer, verifyIdentityToken } from "./oidc-issuer.js";

describe("session policies, as STS evaluates them", () => {
  const policy = parseIamPolicy(
    JSON.stringify({
      Statement: [
        {
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject"],
          Resource: "arn:aws:s3:::exports/2026/*",
        },
        {
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: "arn:aws:s3:::exports",
          Condition: { StringLike: { "s3:prefix": "2026/*" } },
        },
        { Effect: "Deny", Action: "s3:PutObject", Resource: "arn:aws:s3:::exports/2026/locked/*" },
      ],
    }),
  );
  it.each([
    ["s3:GetObject", "arn:aws:s3:::exports/2026/a.csv", {}, true],
    ["s3:getobject", "arn:aws:s3:::exports/2026/a.csv", {}, true],
    ["s3:GetObject", "arn:aws:s3:::exports/2025/a.csv", {}, false],
    ["s3:GetObject", "arn:aws:s3:::other/2026/a.csv", {}, false],
    ["s3:DeleteObject", "arn:aws:s3:::exports/2026/a.csv", {}, false],
    ["s3:PutObject", "arn:aws:s3:::exports/2026/locked/a.csv", {}, false],
    ["s3:ListBucket", "arn:aws:s3:::exports", { "s3:prefix": "2026/x" }, true],
    ["s3:ListBucket", "arn:aws:s3:::exports", { "s3:prefix": "" }, false],
    ["s3:ListBucket", "arn:aws:s3:::exports", {}, false],
  ])("%s on %s %j → %s", (action, resource, context, allowed) => {
    expect(typeof policy).toBe("object");
    expect(iamPolicyAllows(policy as Exclude<typeof policy, string>, action, resource, context)).toBe(
      allowed,
    );
  });
  it.each([
    "not json",
    "{}",
    JSON.stringify({ Statement: [{ Effect: "Maybe", Action: "*", Resource: "*" }] }),
  ])("refuses a malformed policy: %s", (text) => {
    expect(typeof parseIamPolicy(text)).toBe("string");
  });
});

describe("web identity tokens, checked as STS does", () => {
  const issuer = createOidcIssuer();
  const other = createOidcIssuer();
  const expected = { publicKey: issuer.publicKey, audience: "sts.amazonaws.com" };
  it.each([
    ["a valid token", issuer.token({ subject: "s", audience: "sts.amazonaws.com" }), "ok"],
    ["another audience", issuer.token({ subject: "s", audience: "x" }), "InvalidIdentityToken"],
    [
      "an expired token",
      issuer.token({ subject: "s", audience: "sts.amazonaws.com", expiresIn: -1 }),
      "ExpiredTokenException",
    ],
    [
      "another issuer's key",
      other.token({ subject: "s", audience: "sts.amazonaws.com" }),
      "InvalidIdentityToken",
    ],
    ["not a JWT", "abc", "InvalidIdentityToken"],
  ])("%s", (_, token, outcome) => {
    const verdict = verifyIdentityToken(token, expected);
    expect(verdict.ok ? "ok" : verdict.code).toBe(outcome);
  });
});

describe("Credential Access Boundaries, as Google enforces them", () => {
  const rules = [
    {
      availableResource: "//storage.googleapis.com/projects/_/buckets/b",
      availablePermissions: ["inRole:roles/storage.objectViewer"],
      availabilityCondition: {
        expression:
          "resource.name.startsWith('projects/_/buckets/b/objects/logs/') || api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('logs/')",
      },
    },
  ];
  it.each([
    ["b", { object: "logs/1.txt" }, "storage.objects.get", true],
    ["b", { object: "secret.txt" }, "storage.objects.get", false],
    ["b", { object: "logs/1.txt" }, "storage.objects.create", false],
    ["c", { object: "logs/1.txt" }, "storage.objects.get", false],
    ["b", { listPrefix: "logs/2026/" }, "storage.objects.list", true],
    ["b", { listPrefix: "" }, "storage.objects.list", false],
  ] as const)("gs://%s %j %s → %s", (bucket, target, permission, allowed) => {
    expect(accessBoundaryAllows(rules, bucket, target, permission)).toBe(allowed);
  });
});
