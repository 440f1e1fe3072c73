// The statistics page over a task with known samples: the headline figures and the rating
// histogram's table say what GET .../stats says, a click on a topic's bar (and the topic buttons
// beside the chart, from the keyboard) drills into its subtopics, Chinese formats the numbers
// for zh-CN, and a task with no samples shows the empty state. uPlot loads with this page only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, axe, launchBrowser, makeTask, openPage, shoot, startStack } from "./harness.mjs";

const MODEL = "gpt-4o-mini";
let stack;
let browser;
let cfgDir;
let seeded;

// Ten samples written by people (topics, ratings, tags, sessions) and two whose outputs the
// fake provider writes (tokens; the configured prices give them a cost).
const PEOPLE = [
    { topic: ["Billing", "Refunds"], rating: ["five_star", 5], tags: ["golden"] },
    { topic: ["Billing", "Refunds"], rating: ["five_star", 5] },
    { topic: ["Billing", "Refunds"], rating: ["five_star", 4] },
    { topic: ["Billing", "Invoices"], rating: ["five_star", 2], tags: ["golden", "review"] },
    { topic: ["Billing", "Invoices"], rating: ["pass_fail", true] },
    { topic: ["Shipping"], rating: ["pass_fail", false] },
    { topic: ["Shipping"], rating: ["pass_fail_critical", -1] },
    { topic: ["Accounts"], rating: ["pass_fail", true] },
    { topic: null },
    { topic: null, tags: ["review"] },
];

async function seed(base) {
    const made = await makeTask(base, { project: "Stats", task: "Support answers" });
    const ds = `/api/dataset/projects/${made.project.id}/tasks/${made.task.id}`;
    const runs = `/api/projects/${made.project.id}/tasks/${made.task.id}/runs`;
    for (const [i, s] of PEOPLE.entries()) {
        const run = await api(base, "POST", `${ds}/save_sample?session_id=${i < 6 ? "morning" : "evening"}`, {
            input: `Customer question number ${i}`, output: `A kind answer ${i}`,
            topic_path: s.topic, tags: s.tags || [],
        });
        if (s.rating)
            await api(base, "PATCH", `${runs}/${run.id}`, { rating: { type: s.rating[0], value: s.rating[1] } });
    }
    for (const i of [1, 2])
        await api(base, "POST", `${ds}/save_sample?session_id=evening`, {
            input: `Where is my parcel ${i}?`, topic_path: ["Shipping", "Delays"],
            output_model_name: MODEL, output_provider: "openai", prompt_method: "simple_prompt_builder",
        });
    return made;
}

before(async () => {
    cfgDir = mkdtempSync(join(tmpdir(), "hetu-web-stats-"));
    const cfg = join(cfgDir, "hetu.json");
    writeFileSync(cfg, JSON.stringify({ providers: { openai: { models: {
        [MODEL]: { price_input_per_mtok: 150, price_output_per_mtok: 600 } } } } }));
    stack = await startStack({ args: ["--config", cfg] });
    browser = await launchBrowser();
    seeded = await seed(stack.base);
});
after(async () => {
    await browser?.close();
    await stack?.stop();
    if (cfgDir) rmSync(cfgDir, { recursive: true, force: true });
});

function statsOf(base) {
    return api(base, "GET", `/api/projects/${seeded.project.id}/tasks/${seeded.task.id}/stats`);
}

async function openStats(locale, viewport) {
    const page = await openPage(browser, stack.base, { locale, viewport });
    const chartRequests = [];
    page.on("request", (req) => /uplot/.test(req.url()) && chartRequests.push(req.url()));
    page.chartRequests = chartRequests;
    await page.goto(`${seeded.href}/stats`);
    await page.locator(".tiles").waitFor();
    await page.locator(".chart-canvas canvas").first().waitFor();
    return page;
}

// The headline tile whose label is `label`: its value as shown.
function tile(page, label) {
    return page.locator(".tile", { has: page.locator("dt", { hasText: label }) }).locator(".tile-value");
}

// The rows of a chart's "Show as table" under the card headed `heading`: [[label, value], ...].
async function chartTable(page, heading) {
    const card = page.locator("section.chart-card", { has: page.getByRole("heading", { name: heading }) });
    const details = card.locator("details.chart-table").first();
    if ((await details.getAttribute("open")) === null) await details.locator("summary").click();
    return details.locator("table tbody tr").evaluateAll((rows) =>
        rows.map((r) => [r.querySelector("th").textContent.trim(), r.querySelector("td").textContent.trim()]));
}

test("the figures and the rating histogram say what the API says", async () => {
    const s = await statsOf(stack.base);
    assert.equal(s.total, 12);
    const page = await openStats("en-US");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Statistics");
    assert.equal(await tile(page, "Samples").textContent(), "12");
    assert.equal(await tile(page, "Rated").textContent(), "66.7%"); // 8 of 12
    assert.equal(await tile(page, "Tokens").textContent(), s.usage.total_tokens.toLocaleString("en-US"));
    assert.ok(s.usage.cost > 0, "the configured prices give the generated samples a cost");
    assert.equal(await tile(page, "Cost").textContent(), new Intl.NumberFormat("en-US", {
        style: "currency", currency: "USD", maximumFractionDigits: s.usage.cost < 1 ? 4 : 2,
    }).format(s.usage.cost));
    const r = s.ratings;
    assert.deepEqual(await chartTable(page, "Ratings"), [
        ["1 star", String(r.five_star["1"])], ["2 stars", String(r.five_star["2"])],
        ["3 stars", String(r.five_star["3"])], ["4 stars", String(r.five_star["4"])],
        ["5 stars", String(r.five_star["5"])], ["Pass", String(r.pass_fail.pass)],
        ["Fail", String(r.pass_fail.fail)], ["Critical", String(r.pass_fail.critical)],
        ["Unrated", String(r.unrated)],
    ]);
    assert.deepEqual([r.five_star["5"], r.pass_fail.pass, r.pass_fail.fail, r.pass_fail.critical, r.unrated], [2, 2, 1, 1, 4]);
    // tokens by output model: only the model that wrote outputs, with its input tokens first
    const m = s.output_models.find((x) => x.key === MODEL);
    assert.ok(m.input_tokens > 0 && m.cost > 0);
    assert.deepEqual(await chartTable(page, "Tokens and cost by output model"),
        [[MODEL, m.input_tokens.toLocaleString("en-US")]]);
    // the sessions' table counts both sessions
    const sessions = page.locator("section.count-card", { has: page.getByRole("heading", { name: "Sessions" }) });
    assert.deepEqual(await sessions.locator("tbody tr").evaluateAll((rows) => rows.map((x) =>
        [x.querySelector("th").textContent.trim(), x.querySelector("td").textContent.trim()])),
    [["evening", "6"], ["morning", "6"]]);
    assert.equal(page.chartRequests.length >= 1, true, "the chart library loads with this page");
    await axe(page, "stats");
    await shoot(page, "stats-known-data", "en");
    await page.closeChecked();
});

test("a click on a topic's bar drills into its subtopics, and back up", async () => {
    const page = await openStats("en-US");
    const card = page.locator("section.chart-card", { has: page.getByRole("heading", { name: "Samples per topic" }) });
    const topics = await chartTable(page, "Samples per topic");
    // largest first: Billing 5, Shipping 4, Accounts 1, then the samples without a topic
    assert.deepEqual(topics, [["Billing", "5"], ["Shipping", "4"], ["Accounts", "1"], ["Without a topic", "2"]]);
    // the first bar (Billing) is the top row of the horizontal chart
    const over = card.locator(".u-over");
    const box = await over.boundingBox();
    await over.click({ position: { x: 20, y: box.height / 4 / 2 } });
    await card.getByRole("navigation", { name: "Topic path" }).getByText("Billing").waitFor();
    assert.deepEqual(await chartTable(page, /^Samples per topic/),
        [["Refunds", "3"], ["Invoices", "2"]]);
    await card.getByRole("button", { name: "Up one level" }).click();
    await card.locator(".topic-list").getByRole("button", { name: /Billing/ }).waitFor();
    await page.closeChecked();
});

test("the topic buttons beside the chart drill down from the keyboard", async () => {
    const page = await openStats("en-US");
    const card = page.locator("section.chart-card", { has: page.getByRole("heading", { name: "Samples per topic" }) });
    const list = card.locator(".topic-list");
    // only topics with subtopics are buttons: Accounts has none
    assert.deepEqual(await list.getByRole("button").allTextContents().then((x) => x.map((s) => s.replace(/\s+/g, " ").trim())),
        ["Billing, 5", "Shipping, 4"]);
    await list.getByRole("button", { name: /Shipping/ }).focus();
    await page.keyboard.press("Enter");
    await card.getByRole("navigation", { name: "Topic path" }).locator("[aria-current]", { hasText: "Shipping" }).waitFor();
    assert.deepEqual(await chartTable(page, /^Samples per topic/), [["Delays", "2"], ["Directly here", "2"]]);
    await page.closeChecked();
});

test("a chart fills its card and is drawn again when the card changes width", async () => {
    const page = await openStats("en-US");
    const card = page.locator("section.chart-card", { has: page.getByRole("heading", { name: "Samples per topic" }) });
    const widths = () => card.evaluate((c) => [c.querySelector(".chart-box").clientWidth,
        c.querySelector(".chart-canvas .uplot").offsetWidth]);
    const [box, plot] = await widths();
    assert.equal(plot, box);
    await page.setViewportSize({ width: 700, height: 900 });
    await page.waitForFunction(() => {
        const c = document.querySelector(".chart-card .chart-box");
        return c.querySelector(".uplot").offsetWidth === c.clientWidth;
    });
    const [box2, plot2] = await widths();
    assert.ok(box2 < box - 100, `the card narrowed: ${box} -> ${box2}`);
    assert.equal(plot2, box2);
    await page.closeChecked();
});

test("in Chinese the page speaks Chinese and formats its numbers for zh-CN", async () => {
    const s = await statsOf(stack.base);
    const page = await openStats("en-US");
    await page.getByLabel("Language").selectOption("zh-CN");
    await page.getByRole("heading", { level: 1, name: "统计" }).waitFor();
    assert.equal(await tile(page, "样本数").textContent(), new Intl.NumberFormat("zh-CN").format(12));
    const cost = await tile(page, "费用").textContent();
    assert.equal(cost, new Intl.NumberFormat("zh-CN", {
        style: "currency", currency: "USD", maximumFractionDigits: s.usage.cost < 1 ? 4 : 2,
    }).format(s.usage.cost));
    assert.match(cost, /^US\$/); // zh-CN names the dollar; English writes a bare $
    assert.equal(await tile(page, "已评分").textContent(), "66.7%");
    const r = s.ratings;
    assert.deepEqual((await chartTable(page, "评分分布")).slice(4),
        [["5 星", String(r.five_star["5"])], ["通过", "2"], ["不通过", "1"], ["严重问题", "1"], ["未评分", "4"]]);
    await axe(page, "stats zh-CN");
    await page.closeChecked();
});

test("a task with no samples shows the empty state and no charts", async () => {
    const made = await makeTask(stack.base, { project: "Empty", task: "Nothing yet" });
    const page = await openPage(browser, stack.base);
    await page.goto(`${made.href}/stats`);
    await page.getByRole("heading", { name: "No samples yet" }).waitFor();
    assert.equal(await page.locator(".chart").count(), 0);
    assert.equal(await page.getByRole("link", { name: "Generate samples" }).getAttribute("href"),
        `${made.href}/generate`);
    await axe(page, "stats empty");
    await page.closeChecked();
});
