// Jobs: a slow job (samples without outputs, the fake provider answering after 300 ms, two
// items in flight) is listed without opening any event stream; its detail shows progress
// moving live from the stream, cancels after a confirmation, resumes, and the stream closes
// when the user leaves the detail.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, axe, makeTask, openPage, shoot, useStack, VIEWPORTS } from "./harness.mjs";

// two calls at once, so the job takes seconds and its progress can be watched
const configDir = mkdtempSync(join(tmpdir(), "hetu-web-jobs-"));
const config = join(configDir, "hetu-config.json");
writeFileSync(config, JSON.stringify({ providers: { openai: { concurrency: 2 } } }));
const live = useStack({ args: ["--job-window", "2", "--config", config] });
after(() => rmSync(configDir, { recursive: true, force: true }));

const N = 120;

async function startSlowJob(project, task, model) {
    const samples = [];
    for (let i = 0; i < N; i++)
        samples.push({ input: `慢速问题 ${i}: what is "${i}"?`, output_model_name: model, output_provider: "openai" });
    const r = await api(live.stack.base, "POST", `/api/dataset/projects/${project.id}/tasks/${task.id}/import_samples_async`,
        { samples });
    return r.job_id;
}

async function jobOf(project, task, id) {
    return api(live.stack.base, "GET", `/api/dataset/projects/${project.id}/tasks/${task.id}/jobs/${id}`);
}

async function count(page) {
    const text = await page.locator('.job-progress [data-count="completed"]').innerText();
    return Number(text.split("/")[0].replace(/[^\d]/g, ""));
}

// Every /events request of the page: {url, open} (open until it finishes or fails).
function watchStreams(page) {
    const streams = [];
    page.on("request", (req) => {
        if (req.url().endsWith("/events")) streams.push({ req, open: true });
    });
    const close = (req) => {
        for (const s of streams) if (s.req === req) s.open = false;
    };
    page.on("requestfinished", close);
    page.on("requestfailed", close);
    return streams;
}

test("a slow job shows live progress, cancels after a confirmation and resumes; its stream lives only on the detail", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Jobs", task: "Slow" });
    const id = await startSlowJob(project, task, "gpt-4o-mini+latency=500");
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    const streams = watchStreams(page);

    await page.goto(`${href}/jobs`);
    const row = page.getByRole("row", { name: /Sample import/ });
    await row.waitFor();
    assert.match(await row.innerText(), /Running|Queued/);
    await axe(page, "jobs list");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "jobs-list", "en");
    }
    await page.setViewportSize(VIEWPORTS[0]);
    assert.equal(streams.length, 0, "the list opens no event stream");

    await row.getByRole("link", { name: "Sample import" }).click();
    await page.getByRole("heading", { level: 1, name: /Sample import/ }).waitFor();
    await page.getByRole("button", { name: "Cancel job" }).waitFor();
    assert.equal(streams.length, 1, "the detail opens one event stream");
    // progress moves without a reload
    const first = await count(page);
    await page.waitForFunction((n) => {
        const el = document.querySelector('.job-progress [data-count="completed"]');
        return el && Number(el.textContent.split("/")[0].replace(/[^\d]/g, "")) > n;
    }, first, { timeout: 15000 });
    assert.ok((await count(page)) < N, "the job is still running");
    await axe(page, "job detail (running)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "job-running", "en");
    }
    await page.setViewportSize(VIEWPORTS[0]);

    // cancel: the dialog asks first; saying no changes nothing
    await page.getByRole("button", { name: "Cancel job" }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel this job?" });
    await dialog.waitFor();
    await axe(page, "cancel dialog");
    await dialog.getByRole("button", { name: "Cancel", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    assert.match((await jobOf(project, task, id)).status, /running|queued/);
    await page.getByRole("button", { name: "Cancel job" }).click();
    await dialog.getByRole("button", { name: "Cancel job" }).click();
    await page.locator(".job-progress .badge", { hasText: "Cancelled" }).waitFor({ timeout: 15000 });
    const cancelled = await jobOf(project, task, id);
    assert.equal(cancelled.status, "cancelled");
    assert.ok(cancelled.completed < N);
    assert.equal(await count(page), cancelled.completed);
    assert.equal(await page.getByRole("button", { name: "Cancel job" }).count(), 0);
    await axe(page, "job detail (cancelled)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "job-cancelled", "en");
    }
    await page.setViewportSize(VIEWPORTS[0]);

    // resume: it runs again, live
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("button", { name: "Cancel job" }).waitFor();
    await page.waitForFunction((n) => {
        const el = document.querySelector('.job-progress [data-count="completed"]');
        return el && Number(el.textContent.split("/")[0].replace(/[^\d]/g, "")) > n;
    }, cancelled.completed, { timeout: 15000 });
    assert.equal(streams.filter((s) => s.open).length, 1, "one stream open while the job runs");

    // leaving the detail closes its stream
    await page.getByRole("link", { name: "All jobs" }).click();
    await page.getByRole("row", { name: /Sample import/ }).waitFor();
    await page.waitForTimeout(300);
    assert.equal(streams.filter((s) => s.open).length, 0, "no stream left open on the list");
    const total = streams.length;

    // the job runs on without the page; Refresh shows where it stands, still with no stream
    const before = (await jobOf(project, task, id)).completed;
    await page.waitForTimeout(1200);
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.waitForFunction((n) => {
        const cell = document.querySelector(".jobs-table tbody td.num");
        return cell && Number(cell.textContent.split("/")[0].replace(/[^\d]/g, "")) > n;
    }, before, { timeout: 10000 });
    assert.equal(streams.length, total, "the list opened no stream");
    await api(live.stack.base, "POST", `/api/dataset/projects/${project.id}/tasks/${task.id}/jobs/${id}/cancel`);
    await page.closeChecked();
});

test("the jobs pages in Chinese: an empty list, and a finished job's detail", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "作业", task: "中文" });
    const page = await openPage(live.browser, live.stack.base, { locale: "zh-CN" });
    await page.goto(`${href}/jobs`);
    await page.getByText("还没有作业。").waitFor();
    await axe(page, "jobs list (empty, zh-CN)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "jobs-empty", "zh-CN");
    }
    const id = await startSlowJob(project, task, "gpt-4o-mini-zh+latency=10");
    await page.goto(`${href}/jobs/${id}`);
    await page.locator(".job-progress .badge", { hasText: "已完成" }).waitFor({ timeout: 20000 });
    assert.match(await page.locator('.job-progress [data-count="completed"]').innerText(), /^120\s*\/\s*120$/);
    await page.getByText("没有失败的条目。").waitFor();
    await axe(page, "job detail (zh-CN)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "job-completed", "zh-CN");
    }
    await page.closeChecked();
});
