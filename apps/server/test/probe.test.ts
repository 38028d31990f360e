import { it } from "vitest";
import { startInProcessServer, registerAccount, bearer } from "@dumont/testing";
it("probe", async () => {
  for (const dialect of ["sqlite", "postgres"] as const) {
  const s = await startInProcessServer({ dialect });
  const a = await registerAccount(s.app);
  const show = async (label: string, opts: any) => { const r = await s.app.inject(opts); console.log(dialect, label, r.statusCode, r.body.slice(0, 200)); };
  const j = { "content-type": "application/json", ...bearer(a.token) };
  await show("deep settings", { method: "PUT", url: "/api/v1/settings", headers: j, payload: '{"settings":{"a":' + "[".repeat(100000) + "]".repeat(100000) + "}}" });
  await show("deep settings obj", { method: "PUT", url: "/api/v1/settings", headers: j, payload: '{"settings":' + '{"a":'.repeat(20000) + "1" + "}".repeat(20000) + "}" });
  await show("huge array", { method: "PUT", url: "/api/v1/settings", headers: j, payload: JSON.stringify({ settings: { a: Array.from({ length: 100000 }, (_, i) => i) } }) });
  await show("huge array canary", { method: "POST", url: "/api/v1/canaries", headers: j, payload: JSON.stringify({ steps: Array.from({ length: 100000 }, (_, i) => i) }) });
  await show("nul apikey name", { method: "POST", url: "/api/v1/auth/api-keys", headers: j, payload: JSON.stringify({ name: "a\u0000b" }) });
  await show("nul settings", { method: "PUT", url: "/api/v1/settings", headers: j, payload: JSON.stringify({ settings: { "k\u0000": "v\u0000" } }) });
  await show("nul vast key", { method: "PUT", url: "/api/v1/settings", headers: j, payload: JSON.stringify({ vast_api_key: "abcdefgh\u0000" }) });
  await show("nul email reg", { method: "POST", url: "/api/v1/auth/register", headers: j, payload: JSON.stringify({ email: "a\u0000@example.com", password: "12345678" }) });
  await show("nul pw login", { method: "POST", url: "/api/v1/auth/login", headers: j, payload: JSON.stringify({ email: a.email, password: "\u0000" }) });
  await show("nul canary id", { method: "GET", url: "/api/v1/canaries/%00", headers: j });
  await show("nul cancel id", { method: "POST", url: "/api/v1/canaries/%00/cancel", headers: j });
  await show("nul revoke id", { method: "DELETE", url: "/api/v1/auth/api-keys/%00", headers: bearer(a.token) });
  await show("nul events", { method: "GET", url: "/api/v1/events?resource=%00", headers: j });
  await show("nul events type", { method: "GET", url: "/api/v1/events?resource=%00:%00", headers: j });
  await show("huge after", { method: "GET", url: "/api/v1/events?after=99999999999999999999", headers: j });
  await show("lone surrogate", { method: "POST", url: "/api/v1/auth/api-keys", headers: j, payload: '{"name":"\\ud800"}' });
  await show("lone surrogate settings", { method: "PUT", url: "/api/v1/settings", headers: j, payload: '{"settings":{"\\ud800":"\\udc00x"}}' });
  await show("nul bearer", { method: "GET", url: "/api/v1/auth/me", headers: { authorization: "Bearer a\u0000b" } });
  await show("email unicode", { method: "POST", url: "/api/v1/auth/register", headers: j, payload: JSON.stringify({ email: "ü@exämple.com", password: "12345678" }) });
  await show("expires 3650", { method: "POST", url: "/api/v1/auth/api-keys", headers: j, payload: JSON.stringify({ name: "x", expires_in_days: 3650 }) });
  await show("canary big step_ms", { method: "POST", url: "/api/v1/canaries", headers: j, payload: JSON.stringify({ steps: 1, step_ms: 60000, fail_at_step: 100 }) });
  await show("get settings", { method: "GET", url: "/api/v1/settings", headers: j });
  await show("me", { method: "GET", url: "/api/v1/auth/me", headers: j });
  await s.close();
  }
});
