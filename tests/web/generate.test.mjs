// The Generate tab: inputs for a topic come back as editable cards; saving them all with the
// output model (the fake provider) stores samples with the edited text, the topic, the prompt
// method and one session; a failing output model shows each card's failure next to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, makeTask, openPage, shoot, VIEWPORTS, useStack } from "./harness.mjs";

const live = useStack();

const ds = (task) => `/api/dataset/projects/${task.project.id}/tasks/${task.task.id}`;
const runsOf = async (task) =>
    (await api(live.stack.base, "GET", `/api/projects/${task.project.id}/tasks/${task.task.id}/runs`)).runs;

async function pickModel(page, legend, model) {
    const group = page.getByRole("group", { name: legend });
    await group.getByLabel("Provider").selectOption("openai");
    await group.getByLabel("Model name").fill(model);
}

const cards = (page) => page.locator(".input-cards > li");

async function generateInputs(page, n) {
    await page.getByLabel("Number of inputs").fill(String(n));
    await pickModel(page, "Input model", "gpt-4o-mini");
    await page.getByRole("button", { name: "Generate inputs" }).click();
    await page.getByRole("heading", { name: `${n} inputs` }).waitFor();
}

test("generate 4 inputs for a topic, edit one, save all, and find the samples", async () => {
    const task = await makeTask(live.stack.base, { project: "Gen", task: "Cards" });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/generate?topic=Billing/Refunds`);
    await page.getByText("Billing › Refunds").waitFor();
    await axe(page, "generate, empty");
    await generateInputs(page, 4);
    assert.equal(await cards(page).count(), 4);
    const edited = "我的退款还没有到账，怎么办？";
    await page.getByLabel("Text of input 2").fill(edited);
    await pickModel(page, "Output model", "gpt-4o-mini");
    await page.getByLabel("Prompt method").selectOption("simple_chain_of_thought_prompt_builder");
    await axe(page, "generate, cards");
    await page.getByRole("button", { name: "Save all (4)" }).click();
    await page.getByText("4 samples saved").waitFor();
    assert.equal(await page.locator(".input-card.saved").count(), 4);
    const runs = await runsOf(task);
    assert.equal(runs.length, 4);
    const mine = runs.find((r) => r.input === edited);
    assert.ok(mine, "the edited input was saved as edited");
    const link = cards(page).nth(1).getByRole("link", { name: "View sample" });
    assert.equal(await link.getAttribute("href"), `${task.href}/samples/${mine.id}`);
    for (const r of runs) {
        assert.equal(r.output.source.properties.prompt_id, "simple_chain_of_thought_prompt_builder");
        assert.equal(r.output.source.properties.model_name, "gpt-4o-mini");
    }
    const sessions = new Set(runs.map((r) => r.tags.find((x) => x.startsWith("synthetic_session_"))));
    assert.equal(sessions.size, 1, "one session for the visit");
    assert.ok([...sessions][0]);
    const tree = await api(live.stack.base, "GET", `${ds(task)}/topics`);
    assert.equal(tree.children[0].name, "Billing");
    assert.equal(tree.children[0].children[0].name, "Refunds");
    assert.equal(tree.children[0].children[0].sample_count, 4);
    await page.closeChecked();
});

test("a failing output model shows the failure beside each card; one card saved alone", async () => {
    const task = await makeTask(live.stack.base, { project: "Gen", task: "Fails" });
    await api(live.stack.base, "POST", `${ds(task)}/save_samples_batch`, {
        samples: [{ input: "seed", output: "o", topic_path: ["Shipping"] }],
    });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/generate`);
    await page.getByText("Fails", { exact: true }).first().waitFor();
    // the topic chosen from the tree
    await page.getByRole("button", { name: "Change" }).click();
    const dialog = page.getByRole("dialog", { name: "Choose a topic" });
    await dialog.getByRole("treeitem", { name: "Shipping 1 sample" }).click();
    await axe(page, "generate, topic dialog");
    await dialog.getByRole("button", { name: "Use this topic" }).click();
    await page.locator(".topic-crumb", { hasText: "Shipping" }).waitFor();
    await generateInputs(page, 2);
    await page.getByRole("button", { name: "Add input" }).click();
    await page.getByLabel("Text of input 3").fill("Where is my parcel?");
    await pickModel(page, "Output model", "gpt-bad+fail400param=messages");
    page.expectStatus(502, "/save_samples_batch");
    await page.getByRole("button", { name: "Save all (3)" }).click();
    await page.getByText("0 saved, 3 failed").waitFor();
    assert.equal(await page.locator(".input-card.failed").count(), 3);
    const note = cards(page).nth(2).getByRole("alert");
    assert.match(await note.innerText(), /messages/);
    await axe(page, "generate, failures");
    assert.equal((await runsOf(task)).length, 1);
    // a good model, and the hand-written card saved on its own
    await pickModel(page, "Output model", "gpt-4o-mini");
    await cards(page).nth(2).getByRole("button", { name: "Save" }).click();
    await cards(page).nth(2).getByRole("link", { name: "View sample" }).waitFor();
    assert.equal(await page.locator(".input-card.failed").count(), 2);
    const runs = await runsOf(task);
    assert.equal(runs.length, 2);
    const saved = runs.find((r) => r.input === "Where is my parcel?");
    assert.ok(saved);
    assert.equal(saved.input_source.type, "human");
    await page.closeChecked();
});

test("screenshots of the Generate tab in both languages at both sizes", async () => {
    const task = await makeTask(live.stack.base, { project: "客服", task: "Shots" });
    for (const lang of ["en", "zh-CN"]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(live.browser, live.stack.base, {
                locale: lang === "en" ? "en-US" : "zh-CN", viewport: { width: vp.width, height: vp.height },
            });
            await page.goto(`${task.href}/generate?topic=Billing/Refunds`);
            await page.locator(".topic-crumb").waitFor();
            await page.locator('input[type="number"]').fill("3");
            const groups = page.locator("fieldset.model-picker");
            await groups.nth(0).locator("select").selectOption("openai");
            await groups.nth(0).locator('input[type="text"]').fill("gpt-4o-mini");
            await page.locator("form.gen-form button[type=submit]").click();
            await cards(page).nth(2).waitFor();
            await groups.nth(1).locator("select").selectOption("openai");
            await groups.nth(1).locator('input[type="text"]').fill("gpt-4o-mini");
            await cards(page).nth(0).locator("button").first().click();
            await cards(page).nth(0).locator(".badge.ok").waitFor();
            await axe(page, `generate ${lang} ${vp.name}`);
            await shoot(page, "generate", lang);
            await page.closeChecked();
        }
    }
});
