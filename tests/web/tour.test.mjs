// A tour of every page of the app (routes.js), over a task that has data: for each page, in
// English and Chinese, on a desktop (1440x900) and a phone (390x844), the page opens with no
// console error or failed request, draws (its heading is there and no "Loading…" is left), has
// no serious or critical accessibility violation, and leaves a screenshot named after it in
// build/screenshots/. It waits for what every page has (the heading in <main>), not for any
// page's own widgets. Also: the first load of / opens no event stream and fetches no chart
// library.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, launchBrowser, makeTask, openPage, shoot, startStack, VIEWPORTS } from "./harness.mjs";

const MODEL = "gpt-4o-mini";
const LANGS = [
    { lang: "en", locale: "en-US" },
    { lang: "zh-CN", locale: "zh-CN" },
];
const TOPICS = [["Billing", "Refunds"], ["Billing", "Invoices"], ["Shipping", "Delays"], ["Shipping"],
    ["Accounts", "Password reset"], ["退货", "运费"], null];
const RATINGS = [{ type: "five_star", value: 5 }, { type: "five_star", value: 4 }, { type: "five_star", value: 2 },
    { type: "pass_fail", value: true }, { type: "pass_fail", value: false },
    { type: "pass_fail_critical", value: -1 }, null, null];
const IMPORT_ROWS = 120; // past the 100 rows a request saves itself: the file becomes a job

let stack;
let browser;
let data;

async function waitForJob(base, ds, id) {
    for (let i = 0; i < 600; i++) {
        const job = await api(base, "GET", `${ds}/jobs/${id}`);
        if (job.status === "completed") return job;
        assert.ok(["queued", "running"].includes(job.status), `import job ${id}: ${JSON.stringify(job)}`);
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`import job ${id} did not complete`);
}

// ~40 samples with outputs (topics, ratings, tags, three sessions; four written by the fake
// provider, so they carry tokens), a grown topic and one import job of a CSV file.
async function seed(base) {
    const made = await makeTask(base, { project: "客服数据集", task: "Support answers" });
    const ds = `/api/dataset/projects/${made.project.id}/tasks/${made.task.id}`;
    const runsPath = `/api/projects/${made.project.id}/tasks/${made.task.id}/runs`;
    const runs = [];
    for (let i = 0; i < 36; i++) {
        const run = await api(base, "POST", `${ds}/save_sample?session_id=session-${i % 3}`, {
            input: i % 2 ? `How do I get a refund for order ${1000 + i}?` : `我的第 ${i} 号订单什么时候发货？`,
            output: i % 2 ? `You can ask for a refund from your orders page (order ${1000 + i}).`
                : `您好，第 ${i} 号订单将在两个工作日内发货。`,
            topic_path: TOPICS[i % TOPICS.length],
            tags: i % 4 ? ["golden"] : ["golden", "needs_review"],
        });
        const rating = RATINGS[i % RATINGS.length];
        if (rating) await api(base, "PATCH", `${runsPath}/${run.id}`, { rating });
        runs.push(run);
    }
    for (let i = 0; i < 4; i++)
        runs.push(await api(base, "POST", `${ds}/save_sample?session_id=generated`, {
            input: `Where is parcel ${i}?`, topic_path: ["Shipping", "Delays"],
            output_model_name: MODEL, output_provider: "openai", prompt_method: "simple_prompt_builder",
        }));
    await api(base, "POST", `${ds}/generate_categories`, {
        node_path: ["Accounts"], num_subtopics: 3, provider: "openai", model_name: MODEL,
    });
    const rows = ["input,output,topic_path,tags",
        ...Array.from({ length: IMPORT_ROWS }, (_, i) => `Imported question ${i},Imported answer ${i},Imports>>>>>Batch ${i % 4},imported`)];
    const form = new FormData();
    form.append("file", new Blob([`${rows.join("\n")}\n`], { type: "text/csv" }), "support.csv");
    const res = await fetch(`${base}${ds}/import_samples_from_file?session_id=import`, { method: "POST", body: form });
    const started = await res.json();
    assert.equal(res.status, 200, JSON.stringify(started));
    assert.equal(started.status, "import_started", JSON.stringify(started));
    await waitForJob(base, ds, started.job_id);
    return { ...made, run: runs[1], job: started.job_id };
}

before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    data = await seed(stack.base);
});
after(async () => {
    await browser?.close();
    await stack?.stop();
});

// The pages: a screenshot name and the path (a function, since the data comes in `before`).
const PAGES = [
    { name: "projects", path: () => "/" },
    { name: "project", path: () => `/projects/${data.project.id}` },
    { name: "task-overview", path: () => data.href },
    { name: "task-topics", path: () => `${data.href}/topics` },
    { name: "task-generate", path: () => `${data.href}/generate` },
    { name: "task-pipeline", path: () => `${data.href}/pipeline` },
    { name: "task-samples", path: () => `${data.href}/samples` },
    { name: "sample", path: () => `${data.href}/samples/${data.run.id}` },
    { name: "task-import", path: () => `${data.href}/import` },
    { name: "task-jobs", path: () => `${data.href}/jobs` },
    { name: "job", path: () => `${data.href}/jobs/${data.job}` },
    { name: "task-export", path: () => `${data.href}/export` },
    { name: "task-stats", path: () => `${data.href}/stats` },
    { name: "providers", path: () => "/providers" },
    { name: "signin", path: () => "/signin" },
    { name: "not-found", path: () => "/no/such/page" },
];

// Drawn: <main> has its heading, nothing in it says it is loading, every chart has its canvas,
// and the fonts are in.
async function drawn(page) {
    await page.locator("main h1:visible, main h2:visible").first().waitFor(); // a phone shows a sample without its list
    await page.waitForFunction(() => {
        const main = document.querySelector("main");
        if (main.querySelector(".loading, .spinner")) return false;
        if (/Loading…|加载中…/.test(main.textContent)) return false;
        return [...main.querySelectorAll(".chart-canvas")].every((c) => c.querySelector("canvas"));
    }, null, { timeout: 15000 });
    await page.evaluate(() => document.fonts.ready);
}

for (const p of PAGES)
    test(`tour: ${p.name}`, async () => {
        for (const { lang, locale } of LANGS)
            for (const vp of VIEWPORTS) {
                const page = await openPage(browser, stack.base, {
                    locale, viewport: { width: vp.width, height: vp.height },
                });
                await page.goto(p.path());
                await drawn(page);
                assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
                await axe(page, `${p.name} (${lang}, ${vp.name})`);
                await shoot(page, p.name, lang);
                await page.closeChecked();
            }
    });

test("the first load of / opens no event stream and fetches no chart library", async () => {
    const page = await openPage(browser, stack.base);
    const urls = [];
    page.on("request", (req) => urls.push(new URL(req.url()).pathname));
    await page.goto("/");
    await drawn(page);
    await page.waitForLoadState("networkidle");
    assert.ok(urls.some((u) => u.endsWith("/main.js")), `the app loaded: ${urls.join(" ")}`);
    assert.deepEqual(urls.filter((u) => /\/events\b/.test(u)), [], "event streams");
    assert.deepEqual(urls.filter((u) => /uplot/i.test(u)), [], "chart library");
    // the statistics page does load it, so the check above would see it if / did
    await page.goto(`${data.href}/stats`);
    await drawn(page);
    assert.ok(urls.some((u) => /\/vendor\/uplot\.mjs$/.test(u)), "uPlot on the statistics page");
    assert.ok(urls.some((u) => /\/vendor\/uplot\.css$/.test(u)), "uPlot's styles on the statistics page");
    await page.closeChecked();
});
