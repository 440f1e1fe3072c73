// Export: a train_test split made through the page; its train part downloaded (the browser's
// download) holds exactly the split's train samples as openai_chat_jsonl lines; the preview
// shows the first five lines of the file as the form stands and follows a change of format.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { api, axe, makeTask, openPage, shoot, useStack, VIEWPORTS } from "./harness.mjs";

const live = useStack();

const N = 12;

async function seed(name) {
    const made = await makeTask(live.stack.base, { project: `Export ${name}`, task: "Answer" });
    const samples = [];
    for (let i = 0; i < N; i++)
        samples.push({
            input: i % 2 ? `问题 ${i}：“发票”怎么开？` : `Question ${i}: "refund"?`,
            output: i % 2 ? `回答 ${i}` : `Answer ${i}\nsecond line`,
            tags: i < 6 ? ["first"] : ["second"],
        });
    const csv = "input,output,tags\n" + samples.map((s) =>
        [s.input, s.output, s.tags.join(",")].map((v) => `"${v.replace(/"/g, '""')}"`).join(",")).join("\n") + "\n";
    const form = new FormData();
    form.append("file", new Blob([csv], { type: "text/csv" }), "seed.csv");
    const res = await fetch(`${live.stack.base}/api/dataset/projects/${made.project.id}/tasks/${made.task.id}/import_samples_from_file`,
        { method: "POST", body: form });
    assert.equal(res.status, 200, await res.text());
    return made;
}

test("a train_test split made on the page downloads its train part as the split's samples in openai_chat_jsonl", async () => {
    const { project, task, href } = await seed("split");
    const base = `/api/projects/${project.id}/tasks/${task.id}`;
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/export`);
    await page.getByRole("heading", { name: "Dataset splits" }).waitFor();
    await page.getByText("No splits yet.").waitFor();

    await page.getByRole("button", { name: "New split" }).click();
    const dialog = page.getByRole("dialog", { name: "New split" });
    await dialog.waitFor();
    await dialog.getByLabel("Parts").selectOption("train_test");
    await dialog.getByLabel("Name").fill("v1 训练");
    await dialog.getByLabel("Seed").fill("7");
    await axe(page, "new split dialog");
    await dialog.getByRole("button", { name: "Create split" }).click();
    await dialog.waitFor({ state: "detached" });
    const card = page.locator(".split-card", { hasText: "v1 训练" });
    await card.waitFor();

    const splits = await api(live.stack.base, "GET", `${base}/dataset_splits`);
    assert.equal(splits.length, 1);
    const split = splits[0];
    assert.equal(split.name, "v1 训练");
    assert.deepEqual(split.splits.map((p) => [p.name, p.percentage]), [["train", 0.8], ["test", 0.2]]);
    const trainIds = split.split_contents.train;
    assert.equal(trainIds.length + split.split_contents.test.length, N);
    assert.equal(await card.locator('[data-count="train"]').innerText(), String(trainIds.length));
    assert.equal(await card.locator('[data-count="test"]').innerText(), String(split.split_contents.test.length));
    await axe(page, "export with a split");

    const [dl] = await Promise.all([
        page.waitForEvent("download"),
        card.getByRole("button", { name: "Download train of v1 训练" }).click(),
    ]);
    assert.equal(dl.suggestedFilename(), "Answer.train.openai_chat_jsonl.jsonl");
    const lines = readFileSync(await dl.path(), "utf8").split("\n").filter(Boolean);
    assert.equal(lines.length, trainIds.length);
    const byId = new Map();
    for (const id of trainIds) byId.set(id, await api(live.stack.base, "GET", `${base}/runs/${id}`));
    const expected = trainIds.map((id) => {
        const run = byId.get(id);
        return {
            messages: [
                { role: "system", content: "Answer the customer's question politely.\n\nYour response should respect the following requirements:\n1) Be kind" },
                { role: "user", content: run.input },
                { role: "assistant", content: run.output.output },
            ],
        };
    });
    const got = lines.map((l) => JSON.parse(l));
    assert.deepEqual(got.map((x) => x.messages.slice(1)), expected.map((x) => x.messages.slice(1)));
    for (const x of got) {
        assert.equal(x.messages[0].role, "system");
        assert.match(x.messages[0].content, /^Answer the customer's question politely\./);
    }
    // the same bytes the API gives for that part
    const res = await fetch(`${live.stack.base}${base}/export?format=openai_chat_jsonl&dataset_id=${split.id}&split_name=train`);
    assert.equal(readFileSync(await dl.path(), "utf8"), await res.text());
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await page.getByRole("heading", { name: "Dataset splits" }).scrollIntoViewIfNeeded();
        await shoot(page, "export-splits", "en");
    }
    await page.closeChecked();
});

test("the preview shows the first five lines as the form stands, and Download saves that file", async () => {
    const { project, task, href } = await seed("preview");
    const base = `/api/projects/${project.id}/tasks/${task.id}`;
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto(`${href}/export`);
    const preview = page.locator(".export-preview");
    await preview.locator(".preview-lines:not(.stale) li").first().waitFor();
    assert.equal(await preview.locator(".preview-lines li").count(), 5);
    const file = await (await fetch(`${live.stack.base}${base}/export?format=openai_chat_jsonl`)).text();
    const firstFive = file.split("\n").slice(0, 5).map((l) => JSON.parse(l));
    const shown = await preview.locator(".preview-lines pre").allInnerTexts();
    assert.deepEqual(shown.map((s) => JSON.parse(s)), firstFive);
    assert.match(await page.locator(".export-form").innerText(), /For OpenAI fine-tuning and most chat trainers/);
    await axe(page, "export (openai)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "export", "en");
    }
    await page.setViewportSize(VIEWPORTS[0]);

    // another format: the preview follows, and so does the note on what it is for
    await page.getByLabel("Format").selectOption("sharegpt");
    await page.getByText("For LLaMA-Factory, FastChat").waitFor();
    await page.waitForFunction(() => {
        const pre = document.querySelector(".export-preview .preview-lines:not(.stale) pre");
        return pre && pre.textContent.includes('"from"');
    });
    const share = JSON.parse(await preview.locator(".preview-lines pre").first().innerText());
    assert.deepEqual(share.conversations.map((c) => c.from), ["system", "human", "gpt"]);

    // a filter: only the tag "second" (the last six samples), newest ones and all
    await page.getByLabel("Tag", { exact: true }).fill("second");
    await page.waitForFunction(() => {
        const pres = [...document.querySelectorAll(".export-preview .preview-lines:not(.stale) pre")];
        return pres.length === 5 && pres.every((p) => /(Question|问题) ([6-9]|1[01])\b/.test(p.textContent));
    });

    // Download takes the form as it stands
    const [dl] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Download", exact: true }).click(),
    ]);
    assert.equal(dl.suggestedFilename(), "Answer.sharegpt.jsonl");
    const text = readFileSync(await dl.path(), "utf8");
    const expected = await (await fetch(`${live.stack.base}${base}/export?format=sharegpt&tag=second`)).text();
    assert.equal(text, expected);
    assert.equal(text.split("\n").filter(Boolean).length, 6);
    await page.closeChecked();
});

test("the export page in Chinese", async () => {
    const { href } = await seed("zh");
    const page = await openPage(live.browser, live.stack.base, { locale: "zh-CN" });
    await page.goto(`${href}/export`);
    await page.getByRole("heading", { name: "数据集划分" }).waitFor();
    await page.locator(".export-preview .preview-lines li").first().waitFor();
    await page.getByText("适用于 OpenAI 微调及大多数对话训练工具").waitFor();
    await axe(page, "export (zh-CN)");
    for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await shoot(page, "export", "zh-CN");
    }
    await page.closeChecked();
});
