// The browser tests' harness: a real hetu server (HETU_BIN, else build/hetu) in a temporary
// directory, the local fake LLM provider (tests/fake/fake_llm.py) standing in for OpenAI and
// Anthropic, and Debian's chromium driven by playwright-core.
//
// Every page opened through openPage() fails its test on a console error, an uncaught
// exception, a request that fails on the network, or an answer of 400 or more that the test did
// not announce with page.expectStatus(status, urlPart). axe() runs axe-core on the page and fails
// on serious or critical violations. shoot() writes screenshots under build/screenshots/.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const SCREENSHOTS = join(REPO, "build", "screenshots");
export const VIEWPORTS = [
    { name: "1440x900", width: 1440, height: 900 },
    { name: "390x844", width: 390, height: 844, isMobile: true },
];
export const FAKE_KEY = "sk-fake-browser-tests-000";

function waitForLine(proc, re, what, timeoutMs = 20000) {
    return new Promise((ok, fail) => {
        let seen = "";
        const timer = setTimeout(() => fail(new Error(`${what} did not start:\n${seen}`)), timeoutMs);
        const onData = (buf) => {
            seen += buf.toString();
            const m = re.exec(seen);
            if (m) {
                clearTimeout(timer);
                proc.stdout.off("data", onData);
                ok(m);
            }
        };
        proc.stdout.on("data", onData);
        proc.once("exit", (code) => {
            clearTimeout(timer);
            fail(new Error(`${what} exited with ${code} before listening:\n${seen}`));
        });
    });
}

// Starts the fake provider and a hetu server pointed at it. Answers {base, fake, dir, stop,
// env}. opts.args: more `hetu serve` arguments; opts.env: more environment.
export async function startStack(opts = {}) {
    const dir = mkdtempSync(join(tmpdir(), "hetu-web-"));
    const portFile = join(dir, "fake.port");
    const fakeProc = spawn("/usr/bin/python3",
        [join(REPO, "tests", "fake", "fake_llm.py"), "--port", "0", "--port-file", portFile, "--quiet"],
        { stdio: ["ignore", "pipe", "pipe"] });
    const deadline = Date.now() + 10000;
    while (!existsSync(portFile) || !/^\d+$/.test(readFileSync(portFile, "utf8").trim())) {
        if (Date.now() > deadline) throw new Error("the fake LLM provider did not start");
        await new Promise((r) => setTimeout(r, 20));
    }
    const fake = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
    const bin = process.env.HETU_BIN || join(REPO, "build", "hetu");
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("HETU_") || k === "HOST" || k === "PORT") delete env[k];
    Object.assign(env, {
        HETU_OPENAI_BASE_URL: `${fake}/v1`, OPENAI_API_KEY: FAKE_KEY,
        HETU_ANTHROPIC_BASE_URL: fake, ANTHROPIC_API_KEY: FAKE_KEY,
        HETU_TOGETHER_AI_BASE_URL: `${fake}/v1`, TOGETHERAI_API_KEY: FAKE_KEY,
        ...(opts.env || {}),
    });
    const server = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", "0", "--db", join(dir, "hetu.db"),
        ...(opts.args || [])], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    server.stderr.on("data", (b) => (stderr += b.toString()));
    const m = await waitForLine(server, /hetu: listening on (http:\/\/[0-9.]+:\d+)/, "hetu serve");
    return {
        base: m[1], fake, dir, env,
        stderr: () => stderr,
        async stop() {
            const exited = new Promise((r) => server.once("exit", (code, sig) => r({ code, sig })));
            server.kill("SIGTERM");
            fakeProc.kill("SIGTERM");
            const { code } = await exited;
            rmSync(dir, { recursive: true, force: true });
            assert.equal(code, 0, `hetu exited with ${code}:\n${stderr.slice(-4000)}`);
        },
    };
}

// The stack and browser a test file shares, started before its first test and stopped after its
// last: `const ctx = useStack(opts);`, then ctx.stack and ctx.browser in the tests. setup(ctx),
// when given, runs once both are up.
export function useStack(opts, setup) {
    const ctx = {};
    before(async () => {
        ctx.stack = await startStack(opts);
        ctx.browser = await launchBrowser();
        await setup?.(ctx);
    });
    after(async () => {
        await ctx.browser?.close();
        await ctx.stack?.stop();
    });
    return ctx;
}

export async function launchBrowser() {
    return chromium.launch({
        executablePath: process.env.HETU_CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-dev-shm-usage", "--font-render-hinting=none"],
    });
}

// A new page in its own context. opts: {locale: "en-US" | "zh-CN", viewport}. The page gets
// expectStatus(status, urlPart) to allow one error answer, and check() (called by close())
// that throws the problems seen.
export async function openPage(browser, base, opts = {}) {
    const context = await browser.newContext({
        baseURL: base, locale: opts.locale || "en-US",
        viewport: opts.viewport || { width: 1440, height: 900 },
        acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems = [];
    const allowed = [];
    page.on("console", (msg) => {
        if (msg.type() !== "error") return;
        // the browser logs every error answer; the response handler below judges those
        if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) return;
        problems.push(`console error: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`uncaught: ${err.message}`));
    page.on("requestfailed", (req) => {
        const why = req.failure()?.errorText || "";
        // a stream or fetch the page itself aborts (leaving a job's page) is not a failure
        if (why === "net::ERR_ABORTED" && (req.resourceType() === "fetch" || req.resourceType() === "xhr")) return;
        problems.push(`request failed: ${req.method()} ${req.url()} ${why}`);
    });
    page.on("response", (res) => {
        if (res.status() < 400) return;
        const i = allowed.findIndex((a) => a.status === res.status() && res.url().includes(a.urlPart));
        if (i >= 0) allowed.splice(i, 1);
        else problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
    });
    page.expectStatus = (status, urlPart = "") => allowed.push({ status, urlPart });
    page.problems = problems;
    page.check = () => {
        assert.deepEqual(problems, [], "the page had problems");
    };
    page.closeChecked = async () => {
        await context.close();
        page.check();
    };
    return page;
}

// Runs axe-core on the page as it stands; fails on serious or critical violations.
export async function axe(page, label) {
    await page.evaluate(AXE_SOURCE); // evaluated over the DevTools protocol: not subject to the CSP
    const result = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
        }));
    });
    const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(bad, [], `accessibility violations on ${label || page.url()}`);
}

// Writes build/screenshots/<name>-<lang>-<viewport>.png for the page as it stands, at the
// page's current viewport.
export async function shoot(page, name, lang) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const vp = page.viewportSize();
    const file = join(SCREENSHOTS, `${name}-${lang}-${vp.width}x${vp.height}.png`);
    await page.screenshot({ path: file, fullPage: false });
    return file;
}

// The JSON API, for a test's setup and checks: api(base, "POST", "/api/project", {...}).
export async function api(base, method, path, body, headers = {}) {
    const res = await fetch(base + path, {
        method, headers: { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...headers },
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        json = null;
    }
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return json;
}

// A project and a task made through the API, for tests that start past that point.
export async function makeTask(base, { project = "Support", task = "Answer" } = {}) {
    const p = await api(base, "POST", "/api/project", { name: project, description: "browser test" });
    const t = await api(base, "POST", `/api/projects/${p.id}/task`, {
        name: task, instruction: "Answer the customer's question politely.",
        requirements: [{ name: "tone", instruction: "Be kind" }],
    });
    return { project: p, task: t, href: `/projects/${p.id}/tasks/${t.id}` };
}
