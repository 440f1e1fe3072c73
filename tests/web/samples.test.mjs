// The Samples tab: the list with its filters in the URL, a sample's detail, reviewing with the
// keyboard (rate, pass/fail a requirement, next, tag, repair, delete, each checked through the
// API), and a list of thousands of rows that keeps only a window of them in the DOM.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, launchBrowser, openPage, shoot, startStack, VIEWPORTS } from "./harness.mjs";

let stack;
let browser;
let ctx; // {p, t, req, href, runs, D, R}

async function until(fn, what, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

async function importJsonl(base, D, rows, name) {
    const form = new FormData();
    form.append("file", new Blob([rows.map((r) => JSON.stringify(r)).join("\n") + "\n"]), name);
    const res = await fetch(`${base}${D}/import_samples_from_file`, { method: "POST", body: form });
    const body = await res.json();
    assert.ok(res.ok, JSON.stringify(body));
    if (body.job_id)
        await until(async () => {
            const j = await api(base, "GET", `${D}/jobs/${body.job_id}`);
            return j.status === "completed";
        }, "the import job", 60000);
}

async function makeReviewTask(base) {
    const p = await api(base, "POST", "/api/project", { name: "Support", description: "browser test" });
    const t = await api(base, "POST", `/api/projects/${p.id}/task`, {
        name: "Answer", instruction: "Answer the customer's question politely.",
        requirements: [{ name: "tone", instruction: "Be kind", type: "pass_fail" }],
    });
    return { p, t, req: t.requirements[0], href: `/projects/${p.id}/tasks/${t.id}`,
             D: `/api/dataset/projects/${p.id}/tasks/${t.id}`, R: `/api/projects/${p.id}/tasks/${t.id}/runs` };
}

before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    ctx = await makeReviewTask(stack.base);
    // 30 samples with outputs given (no model call): every fifth tagged "gold", every third
    // rated five stars, some outputs JSON; then two imported with a chain of thought
    for (let i = 0; i < 30; i++) {
        const run = await api(stack.base, "POST", `${ctx.D}/save_sample`, {
            input: `问题 ${i}: How do I reset my "password"?\nSecond line`,
            output: i % 4 === 0 ? JSON.stringify({ answer: `steps ${i}`, ok: true }) : `Answer ${i}: open Settings.\n第二行`,
            topic_path: ["Account", i % 2 ? "Password" : "Billing"],
            tags: i % 5 === 0 ? ["gold"] : [],
        });
        if (i % 3 === 0)
            await api(stack.base, "PATCH", `${ctx.R}/${run.id}`, { rating: { type: "five_star", value: 5 } });
    }
    await importJsonl(stack.base, ctx.D, [0, 1].map((i) => ({
        input: `Why is the sky blue? ${i}`, output: `Rayleigh scattering ${i}`, topic_path: ["Science"],
        intermediate_outputs: { chain_of_thought: `First, sunlight.\nThen scattering ${i}.` },
        usage: { input_tokens: 12, output_tokens: 30, total_tokens: 42, cost: 0.00012 },
        tags: ["cot"],
    })), "cot.jsonl");
    ctx.runs = (await api(stack.base, "GET", `${ctx.R}?limit=100`)).runs;
    assert.equal(ctx.runs.length, 32);
});
after(async () => {
    await browser?.close();
    await stack?.stop();
});

function countText(page) {
    return page.locator(".samples-head p").innerText();
}

test("the list filters by tag and by rating, with the filters in the URL", async () => {
    const page = await openPage(browser, stack.base);
    await page.goto(`${ctx.href}/samples`);
    await page.locator(".srow[data-id]").first().waitFor();
    await until(async () => (await countText(page)) === "32 samples", "32 samples");
    assert.equal(await page.getByRole("columnheader", { name: "Input" }).count(), 1);

    await page.getByLabel("Tag", { exact: true }).fill("gold");
    await page.getByLabel("Tag", { exact: true }).press("Enter");
    await until(async () => (await countText(page)) === "6 samples", "6 gold samples");
    assert.match(page.url(), /[?&]tag=gold\b/);
    const ids = await page.locator(".srow[data-id]").evaluateAll((els) => els.map((e) => e.dataset.id));
    const gold = ctx.runs.filter((r) => r.tags.includes("gold")).map((r) => r.id);
    assert.deepEqual(ids, gold);

    await page.getByRole("button", { name: "Clear filters" }).click();
    await until(async () => (await countText(page)) === "32 samples", "all samples again");
    await page.getByLabel("Rating", { exact: true }).selectOption("5");
    await until(async () => (await countText(page)) === "10 samples", "10 five-star samples");
    assert.match(page.url(), /[?&]rating=5\b/);
    assert.equal(await page.locator(".srow[data-id] .stars").count(), 10);

    // the filter survives a reload (it lives in the URL)
    await page.reload();
    await until(async () => (await countText(page)) === "10 samples", "10 after reload");
    assert.equal(await page.getByLabel("Rating", { exact: true }).inputValue(), "5");
    await axe(page, "samples list, filtered");
    await page.closeChecked();
});

test("a sample is reviewed with the keyboard: rate, pass a requirement, next, tag, repair, delete", async () => {
    const page = await openPage(browser, stack.base);
    const first = ctx.runs[1]; // unrated
    const second = ctx.runs[2];
    await page.goto(`${ctx.href}/samples`);
    await page.locator(`.srow[data-id="${first.id}"] a`).click();
    await page.locator("#sd-title").waitFor();
    assert.ok(page.url().endsWith(`/samples/${first.id}`));
    await page.locator(".sd-text", { hasText: "Answer 1: open Settings." }).waitFor();
    await axe(page, "sample detail");

    await page.keyboard.press("4");
    const rated = await until(async () => {
        const r = await api(stack.base, "GET", `${ctx.R}/${first.id}`);
        return r.output.rating?.value === 4 && r;
    }, "the rating 4");
    assert.equal(rated.output.rating.type, "five_star");
    await page.getByRole("radio", { name: "4 stars" }).first().isChecked();
    assert.equal(await page.locator("#sd-rating-overall input:checked").getAttribute("value"), "4");
    assert.equal(await page.locator(`.srow[data-id="${first.id}"] .stars`).getAttribute("aria-label"), "4 stars");

    await page.keyboard.press("p"); // the overall rating is five_star: p passes the first pass/fail requirement
    const passed = await until(async () => {
        const r = await api(stack.base, "GET", `${ctx.R}/${first.id}`);
        return r.output.rating?.requirement_ratings?.[ctx.req.id] && r;
    }, "the requirement's rating");
    assert.deepEqual(passed.output.rating.requirement_ratings[ctx.req.id], { type: "pass_fail", value: 1 });
    assert.equal(passed.output.rating.value, 4);

    await page.keyboard.press("j");
    await until(() => page.url().endsWith(`/samples/${second.id}`), "the next sample");
    await page.locator(".sd-text", { hasText: "Answer 2: open Settings." }).waitFor();

    await page.keyboard.press("t");
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "New tag");
    await page.keyboard.type("checked");
    await page.keyboard.press("Enter");
    await until(async () => (await api(stack.base, "GET", `${ctx.R}/${second.id}`)).tags.includes("checked"), "the tag");
    await page.getByRole("button", { name: "Remove tag checked" }).waitFor();

    await page.locator("#sd-title").focus(); // away from the tag field: shortcuts work again
    await page.keyboard.press("e");
    const area = page.getByLabel("Repaired output");
    await area.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), "sd-repair-text");
    await page.keyboard.press("j"); // typing in the editor: no shortcut fires
    assert.ok(page.url().endsWith(`/samples/${second.id}`));
    await area.fill("Open Settings, then Security, then Reset.");
    await page.getByLabel("Repair instructions").fill("Name the exact menu.");
    await axe(page, "repair editor");
    await page.getByRole("button", { name: "Save repair" }).click();
    const repaired = await until(async () => {
        const r = await api(stack.base, "GET", `${ctx.R}/${second.id}`);
        return r.repaired_output && r;
    }, "the repair");
    const text = typeof repaired.repaired_output === "string" ? repaired.repaired_output : repaired.repaired_output.output;
    assert.equal(text, "Open Settings, then Security, then Reset.");
    assert.equal(repaired.repair_instructions, "Name the exact menu.");
    await page.getByRole("heading", { name: "Repaired output" }).waitFor();

    await page.locator("#sd-title").focus();
    await page.keyboard.press("Delete");
    const dialog = page.getByRole("dialog", { name: "Delete this sample?" });
    await dialog.waitFor();
    await axe(page, "delete confirmation");
    await dialog.getByRole("button", { name: "Delete sample" }).click();
    await until(() => page.url().endsWith(`/samples/${ctx.runs[3].id}`), "the sample after the deleted one");
    const res = await fetch(`${stack.base}${ctx.R}/${second.id}`);
    assert.equal(res.status, 404);
    assert.equal(await page.locator(`.srow[data-id="${second.id}"]`).count(), 0);

    await page.keyboard.press("Escape");
    await until(() => page.url().endsWith("/samples"), "the list again");
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await axe(page, "shortcuts dialog");
    await page.closeChecked();
});

test("chain of thought, usage and a pass/fail requirement by pointer", async () => {
    const cot = ctx.runs.find((r) => r.tags.includes("cot"));
    const page = await openPage(browser, stack.base);
    await page.goto(`${ctx.href}/samples/${cot.id}`);
    await page.getByText("Chain of thought").waitFor();
    await page.locator(".sd-text", { hasText: "Then scattering" }).waitFor();
    await page.getByText("42", { exact: true }).waitFor();
    // a requirement's rating is kept inside the overall one: it waits for that
    assert.equal(await page.locator(`#sd-req-${ctx.req.id} input`).first().isDisabled(), true);
    await page.locator("#sd-rating-overall").getByTitle("5 stars").click(); // a click on the fifth star
    await until(async () => !(await page.locator(`#sd-req-${ctx.req.id} input`).first().isDisabled()), "the requirement enabled");
    await page.locator(`#sd-req-${ctx.req.id}`).getByText("Fail").click();
    const r = await until(async () => {
        const x = await api(stack.base, "GET", `${ctx.R}/${cot.id}`);
        return x.output.rating?.requirement_ratings?.[ctx.req.id] && x;
    }, "the requirement's fail");
    assert.deepEqual(r.output.rating.requirement_ratings[ctx.req.id], { type: "pass_fail", value: 0 });
    await page.closeChecked();
});

test("screenshots of the list and the detail in both languages at both sizes", async () => {
    const run = ctx.runs.find((r) => r.tags.includes("cot"));
    for (const [locale, lang] of [["en-US", "en"], ["zh-CN", "zh-CN"]]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(browser, stack.base, { locale, viewport: vp });
            await page.goto(`${ctx.href}/samples`);
            await page.locator(".srow[data-id]").first().waitFor();
            await shoot(page, "samples-list", lang);
            await axe(page, `samples list ${lang} ${vp.name}`);
            await page.goto(`${ctx.href}/samples/${run.id}`); // near the end: the list scrolls to it
            await page.locator(".sample-detail .sd-text").first().waitFor();
            if (vp.width >= 900) await page.locator(`.srow.selected[data-id="${run.id}"]`).waitFor();
            if (vp.width < 900) // a phone shows the detail in place of the list
                assert.equal(await page.locator(".samples-list-pane").isVisible(), false);
            else assert.equal(await page.locator(".samples-list-pane").isVisible(), true);
            await shoot(page, "samples-detail", lang);
            await axe(page, `sample detail ${lang} ${vp.name}`);
            if (vp.width < 900) { // and its back link brings the list back
                await page.locator(".sd-back").click();
                await page.locator(".samples-list-pane").waitFor({ state: "visible" });
                assert.equal(await page.locator(".sample-detail").count(), 0);
            }
            await page.closeChecked();
        }
    }
});

test("thousands of samples: only a window of rows is in the DOM, and the last row can be reached", async () => {
    const big = await makeReviewTask(stack.base);
    const n = 3000;
    await importJsonl(stack.base, big.D, Array.from({ length: n }, (_, i) => ({
        input: `第 ${i} 行 row ${i}: "quoted", commas\nand a newline`, output: `out ${i}`,
        topic_path: [`T${(i * 7919) % 97}`],
    })), "big.jsonl");
    const page = await openPage(browser, stack.base);
    await page.goto(`${big.href}/samples`);
    await page.locator(".srow[data-id]").first().waitFor();
    for (let i = 0; i < 200; i++) {
        const rows = await page.locator(".vlist [role=row]").count();
        assert.ok(rows < 80, `${rows} rows in the DOM`);
        if ((await countText(page)) === "3,000 samples") break;
        await page.locator(".vlist").evaluate((el) => (el.scrollTop = el.scrollHeight));
        await page.waitForTimeout(60);
    }
    assert.equal(await countText(page), "3,000 samples");
    await page.locator(".vlist").evaluate((el) => (el.scrollTop = el.scrollHeight));
    const last = page.locator(`.srow[aria-rowindex="${n + 1}"]`);
    await last.waitFor();
    assert.match(await last.locator(".c-input").innerText(), /^第 2999 行 row 2999: "quoted", commas and a newline/);
    assert.ok(await last.isVisible());
    assert.ok((await page.locator(".vlist [role=row]").count()) < 80);
    await page.closeChecked();
});
