// The Pipeline tab and a pipeline job's page, against the fake provider: the estimate shows the
// dry run's numbers per stage; Start goes to the job, whose stage bars move to completed with
// the estimate and the actual spend side by side; a budget pauses a job, the page says why and
// resumes it with a higher budget, and a paused job cancels. The judge: its job started from
// the statistics page, its ratings beside people's on the samples page (and filtered), and the
// agreement card showing the figures the API computes for a set rated by both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, makeTask, openPage, shoot, useStack, VIEWPORTS } from "./harness.mjs";

const live = useStack({});

function paths(project, task) {
    return `/api/dataset/projects/${project.id}/tasks/${task.id}`;
}

async function shootBoth(page, name, lang) {
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, name, lang);
    }
    await page.setViewportSize(VIEWPORTS[0]);
}

// Fills one stage's model picker (the fieldset its legend names).
async function pickModel(page, legend, model) {
    const group = page.getByRole("group", { name: legend });
    await group.getByLabel("Provider").selectOption("openai");
    await group.getByLabel("Model name").fill(model);
}

// The number in a cell ("1,234" -> 1234).
function number(text) {
    return Number(text.replace(/[^\d.]/g, ""));
}

async function jobOf(project, task, id) {
    return api(live.stack.base, "GET", `${paths(project, task)}/jobs/${id}`);
}

test("the pipeline's estimate shows the dry run's figures; Start runs the job, whose stage bars reach completed", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Pipeline", task: "Estimate" });
    const model = "gpt-4o-mini+latency=800";
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    // every state of the stage bars the page shows ("topics 1/4, inputs 0/3, ..."), as the
    // event stream moves them
    await page.addInitScript(() => {
        window.states = [];
        new MutationObserver(() => {
            const now = [...document.querySelectorAll(".stage-bar")]
                .map((b) => `${b.dataset.stage} ${b.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")}`).join(", ");
            if (now && now !== window.states.at(-1)) window.states.push(now);
        }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.goto(`${href}/pipeline`);
    await page.getByRole("heading", { level: 1, name: "Pipeline" }).waitFor();
    await page.getByLabel("Levels").fill("1");
    await page.getByLabel("Level 1: subtopics per topic").fill("3");
    await page.getByLabel("Inputs per leaf topic").fill("2");
    await pickModel(page, "Topic model", model);
    await pickModel(page, "Input model", model);
    await pickModel(page, "Output model", model);
    await axe(page, "pipeline form");
    await shootBoth(page, "pipeline-form", "en");

    // Start waits for an estimate of these very settings
    const start = page.getByRole("button", { name: "Start", exact: true });
    assert.equal(await start.isDisabled(), true);
    const sent = page.waitForRequest((r) => r.url().endsWith("/pipelines") && r.method() === "POST");
    await page.getByRole("button", { name: "Estimate", exact: true }).click();
    const body = JSON.parse((await sent).postData());
    assert.equal(body.dry_run, true);
    assert.deepEqual(body.topics.breadth, [3]);
    assert.equal(body.topics.depth, 1);
    assert.equal(body.inputs.per_leaf, 2);
    const dry = await api(live.stack.base, "POST", `${paths(project, task)}/pipelines`, body);
    assert.equal(dry.status, "dry_run");
    const table = page.locator(".estimate-table");
    await table.waitFor();
    for (const stage of ["topics", "inputs", "outputs"]) {
        const cells = await table.locator(`tr[data-stage="${stage}"] td`).allInnerTexts();
        const e = dry.estimate.stages[stage];
        assert.deepEqual(cells.slice(0, 3).map(number), [e.calls, e.input_tokens, e.output_tokens], stage);
        if (e.cost_usd === null) assert.equal(cells[3], "price unknown");
    }
    assert.match(await page.locator(".estimate-lead").innerText(), new RegExp(`About ${dry.estimate.leaves} leaf topics and ${dry.estimate.samples} new samples`));
    await axe(page, "pipeline estimate");
    await shootBoth(page, "pipeline-estimate", "en");

    // a change makes the estimate stale and Start waits for a new one
    await page.getByLabel("Inputs per leaf topic").fill("3");
    await page.getByText("The settings changed since this estimate").waitFor();
    assert.equal(await start.isDisabled(), true);
    await page.getByLabel("Inputs per leaf topic").fill("2");
    assert.equal(await start.isDisabled(), false);

    await start.click();
    await page.waitForURL(/\/jobs\/[0-9]+$/);
    const id = page.url().split("/").pop();
    await page.getByRole("heading", { level: 1, name: /Pipeline/ }).waitFor();
    await page.locator('.stage-bar[data-stage="topics"]').waitFor();
    await page.locator(".job-progress .badge", { hasText: /^Completed$/ }).waitFor({ timeout: 60000 });
    const job = await jobOf(project, task, id);
    assert.equal(job.status, "completed");
    // the bars moved live: the page showed states short of the end before the end
    const states = await page.evaluate(() => window.states);
    assert.ok(states.length >= 3, `the stage bars moved live: ${JSON.stringify(states)}`);
    const allDone = (x) => x.split(", ").every((one) => one.endsWith(" 100"));
    assert.equal(allDone(states[0]), false, `the first state is short of the end: ${states[0]}`);
    assert.equal(allDone(states.at(-1)), true, `the last state is the end: ${states.at(-1)}`);
    assert.equal(job.stages.outputs.produced, 6);
    for (const [stage, s] of Object.entries(job.stages)) {
        const bar = page.locator(`.stage-bar[data-stage="${stage}"]`);
        assert.equal(await bar.locator('[data-count="done"]').innerText(), `${s.done} of ${s.items}`, stage);
        assert.equal(await bar.getByRole("progressbar").getAttribute("aria-valuenow"), "100", stage);
        const row = page.locator(`.compare-table tr[data-stage="${stage}"]`);
        assert.equal(number(await row.locator('[data-col="calls"]').innerText()), s.calls, stage);
        assert.equal(number(await row.locator('[data-col="est-calls"]').innerText()), dry.estimate.stages[stage].calls, stage);
        assert.equal(number(await row.locator('[data-col="tokens"]').innerText()), s.input_tokens + s.output_tokens, stage);
    }
    assert.match(await page.locator('.budget-row[data-limit="calls"]').innerText(), new RegExp(`${job.spent.calls} \\(no cap\\)`));
    await axe(page, "pipeline job (completed)");
    await shootBoth(page, "pipeline-job", "en");
    const runs = await api(live.stack.base, "GET", `/api/projects/${project.id}/tasks/${task.id}/runs?limit=100`);
    assert.equal(runs.runs.length, 6);
    await page.closeChecked();
});

test("a budget pauses the job; its page says why, resumes it with a higher budget, and cancels a paused one", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Budget", task: "Pause" });
    const model = "gpt-4o-mini-budget+latency=20";
    const request = {
        topics: { depth: 1, breadth: 2, provider: "openai", model_name: model },
        inputs: { per_leaf: 2, provider: "openai", model_name: model },
        outputs: { provider: "openai", model_name: model, prompt_method: "simple_prompt_builder" },
        budget: { max_calls: 2 },
    };
    const r = await api(live.stack.base, "POST", `${paths(project, task)}/pipelines`, request);
    assert.equal(r.status, "pipeline_started");
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/jobs/${r.job_id}`);
    await page.locator(".job-progress .badge", { hasText: /^Paused$/ }).waitFor({ timeout: 30000 });
    const paused = await jobOf(project, task, r.job_id);
    assert.equal(paused.status, "paused");
    assert.ok(paused.spent.calls <= 2, `spent ${paused.spent.calls} calls over a cap of 2`);
    const note = page.locator(".paused-note");
    assert.equal(await note.locator("span").innerText(), paused.error);
    assert.match(paused.error, /budget/);
    assert.match(await page.locator('.budget-row[data-limit="calls"]').innerText(), new RegExp(`${paused.spent.calls} of 2`));
    await axe(page, "paused job");
    await shootBoth(page, "pipeline-paused", "en");

    // Resume offers the budget, starting from the job's own
    await page.getByRole("button", { name: "Resume…" }).click();
    const dialog = page.getByRole("dialog", { name: "Resume the job" });
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel("Most model calls").inputValue(), "2");
    await axe(page, "resume dialog");
    await shootBoth(page, "pipeline-resume", "en");
    const sent = page.waitForRequest((q) => q.url().endsWith("/resume"));
    await dialog.getByLabel("Most model calls").fill("1000");
    await dialog.getByRole("button", { name: "Resume", exact: true }).click();
    assert.deepEqual(JSON.parse((await sent).postData()), { budget: { max_calls: 1000 } });
    await dialog.waitFor({ state: "detached" });
    await page.locator(".job-progress .badge", { hasText: /^Completed$/ }).waitFor({ timeout: 60000 });
    const done = await jobOf(project, task, r.job_id);
    assert.equal(done.status, "completed");
    assert.equal(done.budget.max_calls, 1000);
    assert.equal(done.stages.outputs.produced, 4);
    assert.equal(await page.locator(".paused-note").count(), 0);

    // a paused job cancels after a confirmation
    const r2 = await api(live.stack.base, "POST", `${paths(project, task)}/pipelines`,
        { ...request, topics: { ...request.topics, node_path: ["second"] }, budget: { max_calls: 1 } });
    await page.goto(`${href}/jobs/${r2.job_id}`);
    await page.locator(".job-progress .badge", { hasText: /^Paused$/ }).waitFor({ timeout: 30000 });
    await page.getByRole("button", { name: "Cancel job" }).click();
    await page.getByRole("dialog", { name: "Cancel this job?" }).getByRole("button", { name: "Cancel job" }).click();
    await page.locator(".job-progress .badge", { hasText: /^Cancelled$/ }).waitFor({ timeout: 15000 });
    assert.equal((await jobOf(project, task, r2.job_id)).status, "cancelled");
    await page.closeChecked();
});

test("the pipeline page in Chinese, and a field the server refuses shown under that field", async () => {
    const { href } = await makeTask(live.stack.base, { project: "流水线", task: "中文" });
    const page = await openPage(live.browser, live.stack.base, { locale: "zh-CN" });
    await page.goto(`${href}/pipeline`);
    await page.getByRole("heading", { level: 1, name: "流水线" }).waitFor();
    await page.getByLabel("第 1 层：每个主题的子主题数").fill("101"); // the browser takes it, the server does not
    const model = "gpt-4o-mini-zh";
    for (const legend of ["主题模型", "输入模型", "输出模型"]) {
        const group = page.getByRole("group", { name: legend });
        await group.getByLabel("服务商").selectOption("openai");
        await group.getByLabel("模型名称").fill(model);
    }
    page.expectStatus(422, "/pipelines");
    await page.getByRole("button", { name: "预估", exact: true }).click();
    const msg = page.locator(".level .field.invalid .field-error").first();
    await msg.waitFor();
    assert.match(await msg.innerText(), /topics\.breadth\[0\]/);
    assert.equal(await page.locator(".field.invalid").count(), 1);
    assert.match(await page.locator(".estimate-card .error-note").innerText(), /topics\.breadth/);
    await axe(page, "pipeline (zh-CN, refused)");
    await page.getByLabel("第 1 层：每个主题的子主题数").fill("2");
    await page.getByRole("button", { name: "预估", exact: true }).click();
    await page.locator(".estimate-table").waitFor();
    await shootBoth(page, "pipeline-estimate", "zh-CN");
    await page.closeChecked();
});

// "0.43" / "—" as the agreement card writes a figure (percent for the agreement rate).
function shown(key, v) {
    if (v === null || v === undefined) return "—";
    if (key === "agreement") return `${(Math.round(v * 1000) / 10).toString()}%`;
    return v.toFixed(2);
}

test("the judge: started from the statistics page, its ratings beside people's and filtered, and the agreement card's figures", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Judge", task: "Agreement" });
    const ds = paths(project, task);
    const runs = `/api/projects/${project.id}/tasks/${task.id}/runs`;
    const people = [5, 4, 4, 2, 1, 3];
    for (const [i, stars] of people.entries()) {
        const run = await api(live.stack.base, "POST", `${ds}/save_sample`, {
            input: `Question ${i} about a refund`, output: `A kind answer ${i}`,
        });
        await api(live.stack.base, "PATCH", `${runs}/${run.id}`, { rating: { type: "five_star", value: stars } });
    }
    await api(live.stack.base, "POST", `${ds}/save_sample`, { input: "Nobody rated this one", output: "An answer" });

    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/stats`);
    await page.getByRole("heading", { name: "Judge agreement" }).waitFor();
    await page.getByText(/No sample has both a person's and the judge's rating yet/).waitFor();
    await page.getByRole("button", { name: "Judge samples" }).click();
    const dialog = page.getByRole("dialog", { name: "Judge samples" });
    await dialog.waitFor();
    await dialog.getByLabel("Provider").selectOption("openai");
    await dialog.getByLabel("Model name").fill("gpt-4o-mini-judge");
    await axe(page, "judge dialog");
    await shootBoth(page, "judge-dialog", "en");
    await dialog.getByRole("button", { name: "Start judging" }).click();
    await page.waitForURL(/\/jobs\/[0-9]+$/);
    await page.getByRole("heading", { level: 1, name: /Judge/ }).waitFor();
    await page.locator(".job-progress .badge", { hasText: /^Completed$/ }).waitFor({ timeout: 60000 });
    const id = page.url().split("/").pop();
    const job = await jobOf(project, task, id);
    assert.equal(job.stages.judge.done, people.length + 1);
    assert.equal(await page.locator('.stage-bar[data-stage="judge"] [data-count="done"]').innerText(),
        `${people.length + 1} of ${people.length + 1}`);

    // the agreement card shows what the API computes, overall and per requirement, with n
    const agreement = await api(live.stack.base, "GET", `${ds}/judge/agreement`);
    assert.equal(agreement.overall.n, people.length);
    await page.goto(`${href}/stats`);
    const card = page.locator(".agreement-card");
    await card.locator(".agreement-table").waitFor();
    const overall = card.locator('tr[data-row="overall"]');
    assert.equal(await overall.locator('[data-metric="n"]').innerText(), String(people.length));
    for (const key of ["kendall_tau", "spearman", "mae"])
        assert.equal(await overall.locator(`[data-metric="${key}"]`).innerText(), shown(key, agreement.overall[key]), key);
    assert.equal(await card.locator("tbody tr").count(), 1 + (Array.isArray(agreement.requirements)
        ? agreement.requirements.length : Object.keys(agreement.requirements || {}).length));
    await card.getByText("How to read these figures").click();
    await card.getByText(/Kendall's τ and Spearman run from −1 to 1/).waitFor();
    await axe(page, "stats with agreement");
    await card.scrollIntoViewIfNeeded();
    await shootBoth(page, "judge-agreement", "en");

    // the samples list: the judge's rating labelled beside the person's, and its filter
    await page.goto(`${href}/samples`);
    await page.locator(".srow[data-id]").first().waitFor();
    assert.equal(await page.locator(".srow[data-id] .judge-badge").count(), people.length + 1);
    assert.equal(await page.locator(".srow[data-id] .judge-label").first().innerText(), "JUDGE");
    await page.getByLabel("Judge's rating").selectOption("judged");
    await page.waitForURL(/judged=true/);
    const judged = await api(live.stack.base, "GET", `${runs}?judged=true&limit=100`);
    await page.waitForFunction((n) => document.querySelectorAll(".srow[data-id]").length === n, judged.runs.length);
    const top = judged.runs.reduce((m, r) => Math.max(m, r.judge_rating.value), 0);
    await page.getByLabel("Judge's rating").selectOption(String(top));
    await page.waitForURL(new RegExp(`judge_rating=${top}`));
    const best = await api(live.stack.base, "GET", `${runs}?judge_rating=${top}&limit=100`);
    await page.waitForFunction((n) => document.querySelectorAll(".srow[data-id]").length === n, best.runs.length);
    // the detail: the person's rating stays theirs, the judge's is shown apart
    await page.locator(".srow[data-id] .srow-link").first().click();
    const section = page.locator(".judge-section");
    await section.getByRole("heading", { name: "Judge's rating" }).waitFor();
    await axe(page, "sample with a judge rating");
    await shootBoth(page, "judge-sample", "en");
    await page.closeChecked();
});
