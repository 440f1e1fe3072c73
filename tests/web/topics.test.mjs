// The Topics tab: grow the tree through the interface with the fake provider (the root, then
// every leaf), see the counts, search, delete a topic that has samples (asked, then deleted),
// move with the keyboard, and a tree of 10,000 topics that draws its first level quickly and
// keeps only the open nodes' children in the page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, makeTask, openPage, shoot, VIEWPORTS, useStack } from "./harness.mjs";

const live = useStack();

const ds = (task) => `/api/dataset/projects/${task.project.id}/tasks/${task.task.id}`;

async function tree(base, task) {
    return api(base, "GET", `${ds(task)}/topics`);
}

async function pickModel(scope, model) {
    await scope.getByLabel("Provider").selectOption("openai");
    await scope.getByLabel("Model name").fill(model);
}

const items = (page) => page.getByRole("treeitem");

test("grow the root by 3, then every leaf by 2, and see the counts", async () => {
    const task = await makeTask(live.stack.base, { project: "Grow", task: "Tree" });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/topics`);
    await page.getByRole("tree", { name: "Topic tree" }).waitFor();
    assert.equal(await items(page).count(), 1);
    await axe(page, "topics, empty");
    await page.getByRole("button", { name: "Add top-level topics" }).click();
    const dialog = page.getByRole("dialog", { name: /Add subtopics to/ });
    await dialog.getByLabel("Number of subtopics").fill("3");
    await pickModel(dialog, "gpt-4o-mini");
    await dialog.getByLabel("Guidance (optional)").fill("customer questions");
    await axe(page, "topics, add dialog");
    await shoot(page, "topics-add", "en");
    await dialog.getByRole("button", { name: "Generate subtopics" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByText("Added 3 subtopics to Tree").waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[role="treeitem"]').length === 4);
    const t1 = await tree(live.stack.base, task);
    assert.equal(t1.children.length, 3);
    for (const c of t1.children)
        assert.equal(await page.getByRole("treeitem", { name: `${c.name} 0 samples` }).count(), 1);

    await page.getByRole("button", { name: "Add subtopics to all 3 leaves" }).click();
    const leaves = page.getByRole("dialog", { name: "Add subtopics to every leaf" });
    await leaves.getByLabel("Number of subtopics").fill("2");
    await pickModel(leaves, "gpt-4o-mini");
    await leaves.getByRole("button", { name: "Grow 3 leaves" }).click();
    await leaves.getByText("3 leaves grown.").waitFor();
    assert.equal(await leaves.getByRole("progressbar").getAttribute("aria-valuenow"), "3");
    await axe(page, "topics, every leaf done");
    await shoot(page, "topics-every-leaf", "en");
    await leaves.getByRole("button", { name: "Close" }).click();
    const t2 = await tree(live.stack.base, task);
    assert.deepEqual(t2.children.map((c) => c.children.length), [2, 2, 2]);
    // the page shows the whole count, and a top-level topic opens onto its 2 subtopics
    await page.getByText("9 topics").waitFor();
    const first = page.getByRole("treeitem", { name: `${t2.children[0].name} 0 samples` });
    assert.equal(await first.getAttribute("aria-expanded"), "false");
    await first.locator(".tt-toggle").click();
    assert.equal(await first.getAttribute("aria-expanded"), "true");
    assert.equal(await items(page).count(), 6);
    const second = await items(page).nth(2).getAttribute("aria-level");
    assert.equal(second, "3");
    await page.closeChecked();
});

test("the sample counts, search, and deleting a topic with samples asks first", async () => {
    const task = await makeTask(live.stack.base, { project: "Counts", task: "Search" });
    const samples = [
        ["Billing", "Refunds"], ["Billing", "Refunds"], ["Billing", "Invoices"], ["Shipping", "Delays"],
    ].map((p, i) => ({ input: `question ${i}`, output: `answer ${i}`, topic_path: p }));
    await api(live.stack.base, "POST", `${ds(task)}/save_samples_batch`, { samples });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/topics`);
    await page.getByRole("treeitem", { name: "Billing 3 samples" }).waitFor();
    await page.getByRole("treeitem", { name: "Shipping 1 sample" }).waitFor();
    assert.equal(await page.getByRole("treeitem", { name: "Refunds 2 samples" }).count(), 0, "closed");

    await page.getByLabel("Search topics").fill("inv");
    await page.getByText("1 topic matches").waitFor();
    const billing = page.getByRole("treeitem", { name: "Billing 3 samples" });
    assert.equal(await billing.getAttribute("aria-expanded"), "true");
    assert.equal(await page.getByRole("treeitem", { name: "Invoices 1 sample" }).count(), 1);
    assert.equal(await page.getByRole("treeitem", { name: "Refunds 2 samples" }).count(), 0);
    assert.equal(await page.getByRole("treeitem", { name: "Shipping 1 sample" }).count(), 0);
    await axe(page, "topics, search");
    await page.getByLabel("Search topics").fill("");

    // the Samples link filters by the topic, as the runs list takes it
    await page.getByRole("treeitem", { name: "Billing 3 samples" }).click();
    const link = page.getByRole("link", { name: "View 3 samples" });
    assert.equal(await link.getAttribute("href"), `${task.href}/samples?topic_path=Billing`);
    assert.equal(await page.getByRole("link", { name: "Generate inputs here" }).getAttribute("href"),
        `${task.href}/generate?topic=Billing`);

    page.expectStatus(409, "/topics");
    await page.getByRole("button", { name: "Delete topic" }).click();
    const ask = page.getByRole("dialog", { name: "Delete \"Billing\"?" });
    await ask.getByText("This removes the topic, the 2 subtopics below it and 3 samples.").waitFor();
    await axe(page, "topics, delete confirmation");
    await shoot(page, "topics-delete", "en");
    await ask.getByRole("button", { name: "Delete topic and 3 samples" }).click();
    await page.getByText("Deleted \"Billing\"").waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[role="treeitem"]').length === 2);
    const t = await tree(live.stack.base, task);
    assert.deepEqual(t.children.map((c) => c.name), ["Shipping"]);
    assert.equal(t.sample_count, 1);
    await page.closeChecked();
});

test("the tree is a WAI-ARIA tree for the keyboard", async () => {
    const task = await makeTask(live.stack.base, { project: "Keys", task: "Nav" });
    const samples = [["A", "A1"], ["A", "A2"], ["B"]].map((p, i) => ({ input: `k ${i}`, output: "o", topic_path: p }));
    await api(live.stack.base, "POST", `${ds(task)}/save_samples_batch`, { samples });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/topics`);
    const root = page.getByRole("treeitem", { name: "Nav 3 samples" });
    await root.waitFor();
    await page.getByLabel("Search topics").focus();
    await page.keyboard.press("Tab");
    const focused = () => page.evaluate(() => document.activeElement.getAttribute("role") === "treeitem" &&
        document.activeElement.querySelector(".tt-name").textContent);
    assert.equal(await focused(), "Nav");
    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(), "A");
    await page.keyboard.press("ArrowRight"); // opens A
    const a = page.getByRole("treeitem", { name: "A 2 samples" });
    assert.equal(await a.getAttribute("aria-expanded"), "true");
    await page.keyboard.press("ArrowRight"); // into A's first child
    assert.equal(await focused(), "A1");
    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(), "A2");
    await page.keyboard.press("End");
    assert.equal(await focused(), "B");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "B", level: 2 }).waitFor();
    assert.equal(await page.getByRole("treeitem", { name: "B 1 sample" }).getAttribute("aria-selected"), "true");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowLeft"); // from A2 to its parent
    assert.equal(await focused(), "A");
    await page.keyboard.press("ArrowLeft"); // closes A
    assert.equal(await a.getAttribute("aria-expanded"), "false");
    await page.keyboard.press("Home");
    assert.equal(await focused(), "Nav");
    // one tab stop: the focused item alone is in the tab order
    assert.equal(await page.locator('[role="treeitem"][tabindex="0"]').count(), 1);
    await page.closeChecked();
});

test("a tree of 10,000 topics draws its first level fast and only what is opened", async () => {
    const task = await makeTask(live.stack.base, { project: "Big", task: "Wide" });
    const samples = [];
    for (let i = 0; i < 100; i++)
        for (let j = 0; j < 100; j++)
            samples.push({ input: `q ${i} ${j}`, output: "a", topic_path: [`Topic ${i}`, `Sub ${i}.${j}`] });
    await api(live.stack.base, "POST", `${ds(task)}/save_samples_batch`, { samples });
    const page = await openPage(live.browser, live.stack.base);
    await page.goto(`${task.href}/topics`);
    // from the tree's answer arriving to its first level drawn (looked at every frame)
    const drawnAt = await (await page.waitForFunction(
        () => document.querySelectorAll('[role="treeitem"]').length > 100 && performance.now(),
        null, { polling: "raf" })).jsonValue();
    const arrived = await page.evaluate(() => performance.getEntriesByType("resource")
        .find((r) => r.name.endsWith("/topics")).responseEnd);
    const ms = Math.round(drawnAt - arrived);
    assert.ok(ms < 2000, `the first level took ${ms} ms after the tree arrived`);
    assert.equal(await items(page).count(), 101);
    await page.getByText("10,100 topics").waitFor();
    // opening a node draws its 100 children (timed in the page, from the click to the frame)
    const clicked = await page.evaluate(() => {
        const t0 = performance.now();
        [...document.querySelectorAll('[role="treeitem"]')]
            .find((li) => li.querySelector(".tt-name").textContent === "Topic 7")
            .querySelector(".tt-toggle").click();
        return t0;
    });
    const openedAt = await (await page.waitForFunction(
        () => document.querySelectorAll('[role="treeitem"]').length === 201 && performance.now(),
        null, { polling: "raf" })).jsonValue();
    assert.ok(openedAt - clicked < 1000, `opening a node took ${Math.round(openedAt - clicked)} ms`);
    await page.getByRole("treeitem", { name: "Sub 7.99 1 sample" }).waitFor();
    assert.equal(await items(page).count(), 201);
    await page.getByLabel("Search topics").fill("Sub 42.1");
    await page.getByText("11 topics match").waitFor();
    assert.equal(await items(page).count(), 1 + 1 + 11);
    await page.closeChecked();
});

test("screenshots of the Topics tab in both languages at both sizes", async () => {
    const task = await makeTask(live.stack.base, { project: "客服", task: "Shots" });
    const paths = [["Billing", "Refunds"], ["Billing", "Invoices"], ["Billing", "Payment methods"],
        ["Shipping", "Delays"], ["Shipping", "Lost parcels"], ["Accounts", "Password reset"],
        ["Accounts", "Two-factor login"], ["Returns"]];
    const samples = paths.flatMap((p, i) => Array.from({ length: i + 1 }, (_, k) =>
        ({ input: `shot ${i} ${k}`, output: "o", topic_path: p })));
    await api(live.stack.base, "POST", `${ds(task)}/save_samples_batch`, { samples });
    for (const lang of ["en", "zh-CN"]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(live.browser, live.stack.base, {
                locale: lang === "en" ? "en-US" : "zh-CN", viewport: { width: vp.width, height: vp.height },
            });
            await page.goto(`${task.href}/topics`);
            const billing = page.getByRole("treeitem").nth(1);
            await billing.waitFor();
            await billing.locator(".tt-toggle").click();
            await page.getByRole("treeitem").nth(2).click();
            await axe(page, `topics ${lang} ${vp.name}`);
            await shoot(page, "topics", lang);
            await page.closeChecked();
        }
    }
});
