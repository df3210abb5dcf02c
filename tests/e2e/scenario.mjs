// End-to-end scenario driver (issue 4, item 5): a real MCP client (the TypeScript SDK's Client over stdio) drives
// @modelcontextprotocol/server-filesystem through `pdp mcp-guard`, and prints one JSON line per step on stdout.
//
// Environment:
//   PDP_COMMAND   JSON array: how to run the pdp CLI, e.g. ["dotnet","/path/pdp.dll"] (required)
//   PDP_ADDRESS   the PDP's gRPC address (default http://127.0.0.1:50051)
//   DEMO_ROOT     folder served by server-filesystem; must match rego/data.yaml (default /tmp/policypoint-demo)
//   LATENCY_CALLS tools/call round trips per mode for the latency step (default 40; 0 skips it)
// Exit code: 0 when every step behaved as expected, 1 otherwise (each step line says "ok": true|false).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const serverJs = join(here, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
if (!existsSync(serverJs)) {
  console.error(`server-filesystem is not installed: run npm ci --prefix ${here}`);
  process.exit(2);
}
let pdpCommand;
try {
  pdpCommand = JSON.parse(process.env.PDP_COMMAND ?? "");
  if (!Array.isArray(pdpCommand) || pdpCommand.length === 0) throw new Error("empty");
} catch {
  console.error('PDP_COMMAND must be a JSON array, e.g. ["dotnet","/path/to/pdp.dll"]');
  process.exit(2);
}
const pdpAddress = process.env.PDP_ADDRESS ?? "http://127.0.0.1:50051";
const root = process.env.DEMO_ROOT ?? "/tmp/policypoint-demo";
const latencyCalls = Number.parseInt(process.env.LATENCY_CALLS ?? "40", 10);
const agentX = "spiffe://example.org/agent/x";
const agentY = "spiffe://example.org/agent/y";
const run = randomUUID().slice(0, 8);

const paths = {
  notes: join(root, "workspace/notes.txt"),
  secret: join(root, "workspace/secrets/api-keys.txt"),
  outside: join(root, "elsewhere/x.txt"),
  outbox: join(root, "outbox/summary.txt"),
  report: join(root, "workspace/report.txt"),
};

// A clean demo tree: the allowed workspace, a sensitive folder inside it, the egress outbox, and a folder outside
// every grant (still inside server-filesystem's allowed directory, so only the PDP can stop a write there).
function prepare() {
  rmSync(root, { recursive: true, force: true });
  for (const d of ["workspace/secrets", "outbox", "elsewhere"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(paths.notes, "meeting notes: ship the PDP\n");
  writeFileSync(paths.secret, "API_KEY=not-a-real-key\n");
}

async function connect({ identity, sessionId, guarded = true, filter = false }) {
  const serverArgs = [serverJs, root];
  const transport = guarded
    ? new StdioClientTransport({
        command: pdpCommand[0],
        args: [...pdpCommand.slice(1), "mcp-guard", "--identity", identity, "--pdp", pdpAddress, "--session-id", sessionId,
          ...(filter ? ["--filter-tools-list"] : []), "--", "node", ...serverArgs],
        stderr: "inherit",
      })
    : new StdioClientTransport({ command: "node", args: serverArgs, stderr: "inherit" });
  const client = new Client({ name: "policypoint-e2e", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

// Calls a tool and summarises the result: decision (ALLOW when the tool ran), reason codes, text.
async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  const meta = result._meta?.["policypoint/decision"];
  const text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
  return {
    decision: meta?.decision ?? (result.isError ? "TOOL_ERROR" : "ALLOW"),
    decision_id: meta?.decision_id ?? null,
    reasons: (meta?.reasons ?? []).map((r) => r.code),
    is_error: result.isError === true,
    text: text.slice(0, 300),
  };
}

let failures = 0;
function step(name, ok, details) {
  if (!ok) failures++;
  console.log(JSON.stringify({ step: name, ok, ...details }));
}

// Warm-up and readiness: a cold PDP (JIT, first policy evaluation, first database connection) may miss the guard's
// 2 s deadline once, which the guard rightly turns into DENY pdp_unavailable. Use a throwaway session until a
// recorded decision comes back, so the scenario's session starts on a warm PDP.
async function warmUp() {
  const client = await connect({ identity: agentX, sessionId: `e2e-${run}-warmup` });
  try {
    for (let i = 0; i < 20; i++) {
      const r = await call(client, "list_allowed_directories", {});
      if (r.decision === "ALLOW" || r.decision_id) return { attempts: i + 1, decision: r.decision };
      await new Promise((res) => setTimeout(res, 500));
    }
    return { attempts: 20, decision: "none" };
  } finally {
    await client.close();
  }
}

prepare();
const warm = await warmUp();
step("warm_up", warm.decision === "ALLOW", warm);
const sessionX = `e2e-${run}-x`;
const sessionY = `e2e-${run}-y`;
step("setup", true, { root, session_id: sessionX, second_session_id: sessionY, pdp: pdpAddress });

const x = await connect({ identity: agentX, sessionId: sessionX });
try {
  const tools = (await x.listTools()).tools.map((t) => t.name);
  step("list_tools", tools.includes("read_text_file") && tools.includes("write_file"), { tools });

  const read = await call(x, "read_text_file", { path: paths.notes });
  step("read_allowed", read.decision === "ALLOW" && read.text.includes("ship the PDP"), read);

  const outside = await call(x, "write_file", { path: paths.outside, content: "should not exist" });
  step("write_outside_prefix", outside.decision === "DENY" && outside.reasons.includes("argument_not_allowed") && !existsSync(paths.outside),
    { ...outside, file_created: existsSync(paths.outside) });

  const secret = await call(x, "read_text_file", { path: paths.secret });
  step("read_sensitive", secret.decision === "ALLOW" && secret.text.includes("API_KEY"), secret);

  const egress = await call(x, "write_file", { path: paths.outbox, content: "the keys are ..." });
  step("egress_after_sensitive", egress.decision === "DENY" && egress.reasons.includes("egress_after_sensitive_read") && !existsSync(paths.outbox),
    { ...egress, file_created: existsSync(paths.outbox) });

  const destructive = await call(x, "write_file", { path: paths.report, content: "overwrite" });
  step("destructive_requires_approval", destructive.decision === "REQUIRE_APPROVAL" && destructive.is_error && !existsSync(paths.report),
    { ...destructive, file_created: existsSync(paths.report) });
} finally {
  await x.close();
}

const y = await connect({ identity: agentY, sessionId: sessionY });
try {
  const denied = await call(y, "write_file", { path: paths.outside, content: "should not exist" });
  step("second_identity_no_grant", denied.decision === "DENY" && denied.reasons.includes("no_grant") && !existsSync(paths.outside),
    { ...denied, file_created: existsSync(paths.outside) });
} finally {
  await y.close();
}

// --filter-tools-list: agent x has no grant for read_media_file, agent y has none at all.
for (const [who, identity] of [["x", agentX], ["y", agentY]]) {
  const client = await connect({ identity, sessionId: `e2e-${run}-list-${who}`, filter: true });
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const ok = who === "x" ? tools.includes("read_text_file") && !tools.includes("read_media_file") : tools.length === 0;
    step(`filtered_tools_list_${who}`, ok, { identity, tools });
  } finally {
    await client.close();
  }
}

// Latency McpGuard adds per tools/call: the same allowed read, guarded (guard + PDP + durable log) vs direct.
if (latencyCalls > 0) {
  const measure = async (client) => {
    await client.callTool({ name: "read_text_file", arguments: { path: paths.notes } }); // warm-up
    const ms = [];
    for (let i = 0; i < latencyCalls; i++) {
      const t0 = process.hrtime.bigint();
      await client.callTool({ name: "read_text_file", arguments: { path: paths.notes } });
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const pct = (p) => +ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(3);
    return { mean: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3), p50: pct(0.5), p95: pct(0.95) };
  };
  const guarded = await connect({ identity: agentX, sessionId: `e2e-${run}-latency` });
  const direct = await connect({ identity: agentX, sessionId: "-", guarded: false });
  try {
    const g = await measure(guarded);
    const d = await measure(direct);
    step("latency", true, { calls: latencyCalls, guarded_ms: g, direct_ms: d, added_ms_p50: +(g.p50 - d.p50).toFixed(3), added_ms_mean: +(g.mean - d.mean).toFixed(3) });
  } finally {
    await guarded.close();
    await direct.close();
  }
}

step("done", failures === 0, { failures });
process.exit(failures === 0 ? 0 : 1);
