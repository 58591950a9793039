/** Who may use the server: Host, Origin and token rules (issue 10, defect 7). */
import type { IncomingMessage } from "node:http";
import fc from "fast-check";
import { allowedOrigin, refusal, type AccessPolicy } from "../../../src/server/auth";
import { FUZZ } from "../../helpers/fuzz";

const TOKEN = "a".repeat(48);
const policy: AccessPolicy = { token: TOKEN, allowOrigins: [], allowHosts: [] };

function req(url: string, headers: Record<string, string> = {}, method = "GET"): IncomingMessage {
  return { url, method, headers: { host: "127.0.0.1:8765", ...headers } } as unknown as IncomingMessage;
}
const auth = { authorization: `token ${TOKEN}` };

describe("the token", () => {
  test.each([
    ["token header", req("/api", auth)],
    ["Bearer header", req("/api", { authorization: `Bearer ${TOKEN}` })],
    ["?token= on the channels WebSocket", req(`/api/kernels/k1/channels?session_id=s&token=${TOKEN}`)],
    ["?token= on a kernelspec logo", req(`/kernelspecs/alpine/logo-64x64.png?token=${TOKEN}`)],
  ])("accepted: %s", (_what, r) => {
    expect(refusal(r, policy)).toBeUndefined();
  });

  test.each([
    ["no token", req("/api"), /needs its token/],
    ["a wrong token", req("/api", { authorization: "token x" }), /needs its token/],
    ["a wrong query token on the WebSocket", req("/api/kernels/k1/channels?token=x"), /needs its token/],
    [
      "?token= on a REST route",
      req(`/api/kernels?token=${TOKEN}`),
      /token in the URL is accepted only where/,
    ],
    ["?token= on a POST", req(`/api/kernels/k1/channels?token=${TOKEN}`, {}, "POST"), /token in the URL/],
  ])("refused: %s", (_what, r, message) => {
    expect(refusal(r, policy)?.message).toMatch(message);
  });
});

describe("the Host header (DNS rebinding)", () => {
  test.each(["127.0.0.1:8765", "localhost:8765", "LOCALHOST", "[::1]:8765", "127.3.4.5", "::ffff:127.0.0.1"])(
    "%s is this machine",
    (host) => expect(refusal(req("/api", { ...auth, host }), policy)).toBeUndefined(),
  );
  test.each([
    "evil.example:8765",
    "10.0.0.5:8765",
    "[fe80::1]:8765",
    "localhost.evil.example",
    "127.0.0.1.nip.io",
  ])("%s is refused", (host) =>
    expect(refusal(req("/api", { ...auth, host }), policy)?.message).toMatch(
      /request for host .* refused: this server answers only to this machine's own names/,
    ),
  );
  test("a name in server.allow_hosts is accepted", () => {
    const p = { ...policy, allowHosts: ["mylaptop.local"] };
    expect(refusal(req("/api", { ...auth, host: "MyLaptop.local:8765" }), p)).toBeUndefined();
  });
});

describe("the Origin header", () => {
  test("no Origin (a program, not a browser) and the server's own origin are accepted", () => {
    expect(refusal(req("/api", auth), policy)).toBeUndefined();
    expect(refusal(req("/api", { ...auth, origin: "http://127.0.0.1:8765" }), policy)).toBeUndefined();
  });
  test.each(["http://evil.example", "http://127.0.0.1:8888", "null", "file://", "not a url"])(
    "%s is refused, token or not",
    (origin) =>
      expect(refusal(req("/api", { ...auth, origin }), policy)?.message).toMatch(
        /cross-origin request from .* refused \(add it to server.allow_origins/,
      ),
  );
  test("an origin in server.allow_origins is accepted, and may read the answer (CORS)", () => {
    const p = { ...policy, allowOrigins: ["http://localhost:8888"] };
    const r = req("/api", { ...auth, origin: "http://LOCALHOST:8888" });
    expect(refusal(r, p)).toBeUndefined();
    expect(allowedOrigin(r, p)).toBe("http://LOCALHOST:8888");
    expect(allowedOrigin(req("/api", { origin: "http://evil.example" }), p)).toBeUndefined();
    expect(
      refusal(req("/api", { ...auth, origin: "null" }), { ...policy, allowOrigins: ["null"] }),
    ).toBeDefined();
  });
  test('"*" allows every origin', () => {
    expect(
      refusal(req("/api", { ...auth, origin: "http://x.example" }), { ...policy, allowOrigins: ["*"] }),
    ).toBe(undefined);
  });
});

test("fuzz: no header value makes the check throw, and nothing passes without the token", () => {
  const header = fc.oneof(fc.string(), fc.webUrl(), fc.constant(TOKEN), fc.constant(`token ${TOKEN}`));
  fc.assert(
    fc.property(
      header,
      header,
      header,
      fc.webPath(),
      fc.constantFrom("GET", "POST", "OPTIONS"),
      (h, o, a, path, m) => {
        const r = {
          url: path,
          method: m,
          headers: { host: h, origin: o, authorization: a },
        } as unknown as IncomingMessage;
        const why = refusal(r, policy);
        if (why === undefined) expect(a).toBe(`token ${TOKEN}`);
      },
    ),
    FUZZ,
  );
});
