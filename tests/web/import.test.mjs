// Import: a CSV of 150 rows (Chinese and English, quotes, line breaks inside fields) chosen in
// the drop zone becomes a job whose progress the page follows to completed, and every row is
// stored as written; a malformed CSV shows the server's line and column and stores nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, makeTask, openPage, shoot, useStack, VIEWPORTS } from "./harness.mjs";

const live = useStack();

const ROWS = 150;
function csvField(s) {
    return `"${s.replace(/"/g, '""')}"`;
}
function rows() {
    const out = [];
    for (let i = 0; i < ROWS; i++) {
        const input = i % 2 ? `第${i}个问题：“退款”要多久？\n第二行` : `Question ${i}: how do I say "hello, world"?`;
        const output = i % 2 ? `回答 ${i}，请耐心等待。` : `Answer ${i}, with "quotes"\nand a second line`;
        out.push({ input, output, tags: i % 3 ? "faq" : "faq,billing" });
    }
    return out;
}
function csv(list) {
    return "input,output,tags\n" + list.map((r) => [r.input, r.output, r.tags].map(csvField).join(",")).join("\n") + "\n";
}

async function allRuns(base, p, t) {
    const found = [];
    let cursor = null;
    do {
        const q = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
        const page = await api(base, "GET", `/api/projects/${p}/tasks/${t}/runs${q}`);
        found.push(...(page.runs ?? page.items ?? page));
        cursor = page.next_cursor ?? null;
    } while (cursor);
    return found;
}

test("a CSV of 150 rows chosen in the drop zone runs as a job to completed, and every row is stored", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "导入", task: "Import" });
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/import`);
    await page.getByRole("heading", { name: "Import samples" }).waitFor();
    await axe(page, "import (empty)");
    const list = rows();
    await page.getByLabel("Drop a CSV or JSONL file here or choose a file").setInputFiles({
        name: "support.csv", mimeType: "text/csv", buffer: Buffer.from(csv(list)),
    });
    await page.getByText("support.csv").waitFor();
    await page.getByLabel("Exact duplicates").selectOption("skip");
    await page.getByLabel("Session").fill("web-import");
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await page.getByRole("heading", { name: "Import job finished" }).waitFor({ timeout: 20000 });
    const result = page.locator(".import-result");
    await result.getByText("Completed", { exact: true }).waitFor();
    assert.match(await result.locator('[data-count="completed"]').innerText(), /^150\s*\/\s*150$/);
    assert.equal(await result.getByRole("progressbar").getAttribute("aria-valuenow"), "100");
    await axe(page, "import (job completed)");
    for (const lang of ["en"]) for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await result.evaluate((el) => el.scrollIntoView());
        await shoot(page, "import-job", lang);
    }

    const stored = await allRuns(live.stack.base, project.id, task.id);
    assert.equal(stored.length, ROWS);
    const byInput = new Map(stored.map((r) => [r.input, r]));
    for (const row of list) {
        const run = byInput.get(row.input);
        assert.ok(run, `row stored: ${row.input}`);
        assert.equal(run.output.output, row.output);
    }
    const jobs = await api(live.stack.base, "GET", `/api/dataset/projects/${project.id}/tasks/${task.id}/jobs`);
    assert.equal(jobs.jobs.length, 1);
    assert.equal(jobs.jobs[0].status, "completed");
    assert.equal(jobs.jobs[0].completed, ROWS);
    await page.closeChecked();
});

test("a small file dropped on the zone is stored at once and says how many duplicates it skipped", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Small", task: "Import" });
    const page = await openPage(live.browser, live.stack.base, { locale: "zh-CN" });
    await page.goto(`${href}/import`);
    await page.getByRole("heading", { name: "导入样本" }).waitFor();
    const body = 'input,output\n你好,"Hi, ""there"""\nHELLO,hi\nhello,again\n';
    // dropped onto the zone, as a file from the desktop would be
    const transfer = await page.evaluateHandle((text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "small.csv", { type: "text/csv" }));
        return dt;
    }, body);
    await page.locator(".drop-zone").dispatchEvent("dragenter", { dataTransfer: transfer });
    assert.match(await page.locator(".drop-zone").getAttribute("class"), /\bover\b/);
    await page.locator(".drop-zone").dispatchEvent("drop", { dataTransfer: transfer });
    await page.locator(".drop-file", { hasText: "small.csv" }).waitFor();
    await page.getByLabel("完全重复的样本").selectOption("skip");
    await page.getByRole("button", { name: "开始导入" }).click();
    await page.getByRole("heading", { name: "导入完成" }).waitFor();
    assert.equal(await page.locator('[data-count="stored"]').innerText(), "2");
    assert.equal(await page.locator('[data-count="skipped"]').innerText(), "1");
    assert.equal((await allRuns(live.stack.base, project.id, task.id)).length, 2);
    await axe(page, "import (inline done)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await page.locator(".import-result").evaluate((el) => el.scrollIntoView());
        await shoot(page, "import-done", "zh-CN");
    }
    await page.closeChecked();
});

for (const lang of ["en", "zh-CN"]) {
    test(`a malformed CSV shows the server's line and column, and nothing is stored (${lang})`, async () => {
        const { project, task, href } = await makeTask(live.stack.base, { project: `Bad ${lang}`, task: "Import" });
        const page = await openPage(live.browser, live.stack.base, { locale: lang === "en" ? "en-US" : "zh-CN" });
        await page.goto(`${href}/import`);
        await page.locator("input[type=file]").waitFor({ state: "attached" });
        const body = 'input,output\nfine,row\n"good","also good"\nok,"bro"ken"\n';
        await page.locator("input[type=file]").setInputFiles({
            name: "broken.csv", mimeType: "text/csv", buffer: Buffer.from(body),
        });
        page.expectStatus(400, "/import_samples_from_file");
        await page.locator("form button[type=submit]").click();
        const alert = page.locator(".import-rejected");
        await alert.waitFor();
        const chips = await alert.locator(".where-chip").allInnerTexts();
        assert.deepEqual(chips, lang === "en" ? ["Line 4", "Column 9"] : ["第 4 行", "第 9 列"]);
        assert.match(await alert.innerText(), lang === "en" ? /Nothing from broken\.csv was stored/ : /broken\.csv 中的数据均未保存/);
        assert.match(await alert.locator(".rejected-detail").innerText(), /quote/);
        assert.equal((await allRuns(live.stack.base, project.id, task.id)).length, 0);
        await axe(page, `import (rejected, ${lang})`);
        for (const vp of VIEWPORTS) {
            await page.setViewportSize(vp);
            await alert.evaluate((el) => el.scrollIntoView());
            await shoot(page, "import-rejected", lang);
        }
        await page.closeChecked();
    });
}

test("rows without an output are rejected without a model, then get one from the model chosen", async () => {
    const { project, task, href } = await makeTask(live.stack.base, { project: "Outputs", task: "Import" });
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/import`);
    const body = ['{"input": "没有回答的问题"}', '{"input": "A question without an answer"}', ""].join("\n");
    await page.locator("input[type=file]").setInputFiles({
        name: "inputs.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(body),
    });
    page.expectStatus(422, "/import_samples_from_file");
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await page.locator(".import-rejected .where-chip", { hasText: "Line 1" }).waitFor();
    // the server's field names the control
    assert.match(await page.locator(".field.invalid").innerText(), /Output provider[\s\S]*output_provider is required/);
    assert.equal((await allRuns(live.stack.base, project.id, task.id)).length, 0);

    await page.getByLabel("Output provider").fill("openai");
    await page.getByLabel("Output model").fill("gpt-4o-mini");
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await page.getByRole("heading", { name: "Import complete" }).waitFor();
    assert.equal(await page.locator('[data-count="stored"]').innerText(), "2");
    const runs = await allRuns(live.stack.base, project.id, task.id);
    assert.deepEqual(runs.map((r) => r.input).sort(), ["A question without an answer", "没有回答的问题"]);
    for (const r of runs) assert.match(r.output.output, /^fake answer/);
    await page.closeChecked();
});
