// SPDX-License-Identifier: MIT
// Benchmark "ui" (run through bench/ui.sh): the web interface served by the binary, measured
// in Debian's chromium through playwright-core.
// 1. Bytes of the first load of / : every response's body, uncompressed, in a fresh browser
//    context (empty cache) until the network is idle. Target: under 250 KB.
// 2. Time from navigation to the first rendered rows of a task's samples page with 100,000
//    samples in the task (users'-shaped rows from bench/ui_data.py, imported with
//    import_samples_from_file): performance.now() when the first row enters the DOM, in a fresh
//    context (cold) and on reload (warm), the median of RUNS tries each. Target: under 500 ms.
// Prints "ui: figure = value unit" lines. Environment: HETU_BENCH_UI_ROWS (100000),
// HETU_BENCH_UI_RUNS (5), HETU_BENCH_UI_DATA (where the generated file is kept, default $TMPDIR).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { api, launchBrowser, startStack } from "../tests/web/harness.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROWS = Number(process.env.HETU_BENCH_UI_ROWS || 100000);
const RUNS = Number(process.env.HETU_BENCH_UI_RUNS || 5);
const FIRST_LOAD_TARGET = 250 * 1024;
const FIRST_ROWS_TARGET = 500;

function say(figure, value, unit = "") {
    console.log(`ui: ${figure} = ${value} ${unit}`.trimEnd());
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function importFile(base, D, file) {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(file)]), "ui-bench.jsonl");
    const t0 = performance.now();
    const res = await fetch(`${base}${D}/import_samples_from_file`, { method: "POST", body: form });
    const body = await res.json();
    if (!res.ok) throw new Error(`import refused: ${JSON.stringify(body).slice(0, 500)}`);
    if (body.job_id) {
        for (;;) {
            const j = await api(base, "GET", `${D}/jobs/${body.job_id}`);
            if (j.status === "completed") break;
            if (!["queued", "running"].includes(j.status)) throw new Error(`import job ${j.status}`);
            await new Promise((r) => setTimeout(r, 200));
        }
    }
    return (performance.now() - t0) / 1000;
}

// All responses' bodies of one fresh load of path, until the network is idle.
async function firstLoadBytes(browser, base, path) {
    const context = await browser.newContext({ baseURL: base });
    const page = await context.newPage();
    const sizes = [];
    page.on("response", (res) => {
        sizes.push(res.body().then((b) => b.length, () => 0));
    });
    await page.goto(path, { waitUntil: "networkidle" });
    const total = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    const count = sizes.length;
    await context.close();
    return { total, count };
}

// performance.now() when the first sample row enters the DOM (observed from the document's
// start, so the figure runs from navigation).
const WATCH_ROWS = `(() => {
    const seen = () => {
        if (window.__firstRows === undefined && document.querySelector(".srow[data-id]"))
            window.__firstRows = performance.now();
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
})();`;

async function firstRows(page, path, reload) {
    if (reload) await page.reload();
    else await page.goto(path);
    await page.waitForFunction(() => window.__firstRows !== undefined, null, { timeout: 30000 });
    return page.evaluate(() => window.__firstRows);
}

async function main() {
    const dataDir = join(process.env.HETU_BENCH_UI_DATA || tmpdir(), "hetu-bench-ui-data");
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, `samples-${ROWS}.jsonl`);
    execFileSync("/usr/bin/python3", [join(HERE, "ui_data.py"), String(ROWS), file], { stdio: "inherit" });

    const stack = await startStack({ args: ["--log-level", "warn"] });
    const browser = await launchBrowser();
    let failed = false;
    try {
        const p = await api(stack.base, "POST", "/api/project", { name: "UI bench", description: "" });
        const t = await api(stack.base, "POST", `/api/projects/${p.id}/task`, {
            name: "翻译", instruction: "Translate and explain.",
            requirements: [{ name: "faithful", instruction: "Keep the meaning", type: "pass_fail" }],
        });
        const D = `/api/dataset/projects/${p.id}/tasks/${t.id}`;
        const secs = await importFile(stack.base, D, file);
        const first = await api(stack.base, "GET", `/api/projects/${p.id}/tasks/${t.id}/runs?limit=1`);
        say("load_average", readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
            "(other work on the machine slows every figure below)");
        say("samples", ROWS, `(${(statSync(file).size / ROWS).toFixed(0)} bytes a row as JSONL, imported in ${secs.toFixed(1)} s)`);

        const bytes = [];
        for (let i = 0; i < 2; i++) bytes.push(await firstLoadBytes(browser, stack.base, "/"));
        const load = bytes[bytes.length - 1];
        say("first_load_bytes", load.total, `bytes in ${load.count} responses (${(load.total / 1024).toFixed(1)} KB, target < 250 KB)`);
        failed ||= load.total >= FIRST_LOAD_TARGET;
        const sb = await firstLoadBytes(browser, stack.base, `/projects/${p.id}/tasks/${t.id}/samples`);
        say("samples_page_load_bytes", sb.total, `bytes in ${sb.count} responses (${(sb.total / 1024).toFixed(1)} KB, first load of the samples page until the network is idle: the shell, the page, the first 50 rows and the next 500 it reads ahead)`);

        const apiMs = [];
        for (let i = 0; i < RUNS; i++) {
            const t0 = performance.now();
            await api(stack.base, "GET", `/api/projects/${p.id}/tasks/${t.id}/runs?limit=50`);
            apiMs.push(performance.now() - t0);
        }
        say("runs_first_page_ms", median(apiMs).toFixed(1), `ms median of ${RUNS} (GET .../runs?limit=50, the list's first page, from node)`);

        const path = `/projects/${p.id}/tasks/${t.id}/samples`;
        const cold = [];
        const warm = [];
        for (let i = 0; i < RUNS + 1; i++) {
            const context = await browser.newContext({ baseURL: stack.base, viewport: { width: 1440, height: 900 } });
            await context.addInitScript(WATCH_ROWS);
            const page = await context.newPage();
            const c = await firstRows(page, path, false);
            const w = await firstRows(page, path, true);
            await context.close();
            if (i === 0) continue; // the first try warms the server's page cache
            cold.push(c);
            warm.push(w);
        }
        const med = median(cold);
        say("first_rows_ms_cold", med.toFixed(0), `ms median of ${RUNS} (min ${Math.min(...cold).toFixed(0)}, max ${Math.max(...cold).toFixed(0)}; empty cache; target < 500 ms)`);
        say("first_rows_ms_warm", median(warm).toFixed(0), `ms median of ${RUNS} (min ${Math.min(...warm).toFixed(0)}, max ${Math.max(...warm).toFixed(0)}; reload, assets cached)`);
        failed ||= med >= FIRST_ROWS_TARGET;
        if (!first.runs.length) throw new Error("no samples after the import");
    } finally {
        await browser.close();
        await stack.stop();
    }
    const load = Number(process.env.HETU_BENCH_UI_STRICT ? 1 : 0);
    return failed && load ? 1 : 0;
}

process.exitCode = await main();
