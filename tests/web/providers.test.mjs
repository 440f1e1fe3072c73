// Providers: openai (the fake provider) shows as configured with its key present, and no byte
// of the key reaches the page; "Test" sends a ping through the fake and shows its answer, and a
// provider without a key shows the server's reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { axe, FAKE_KEY, openPage, shoot, VIEWPORTS, useStack } from "./harness.mjs";

const ctx = useStack({ env: { ANTHROPIC_API_KEY: "" } });

test("openai is configured with its key present, and the key itself is never shown", async () => {
    const page = await openPage(ctx.browser, ctx.stack.base);
    const answers = [];
    page.on("response", async (res) => {
        if (res.url().includes("/api/providers")) answers.push(await res.text());
    });
    await page.goto("/providers");
    const row = page.getByRole("row", { name: /^openai / });
    await row.waitFor();
    assert.equal(await row.getByText("Configured", { exact: true }).count(), 1);
    assert.equal(await row.getByText("Key present").count(), 1);
    assert.equal(await row.locator("code").textContent(), "OPENAI_API_KEY");
    const anthropic = page.getByRole("row", { name: /^anthropic / });
    assert.equal(await anthropic.getByText("Not configured").count(), 1);
    assert.equal(await anthropic.getByText("No key: set").count(), 1);
    assert.equal(await anthropic.locator("code").textContent(), "ANTHROPIC_API_KEY");
    const html = await page.content();
    assert.ok(!html.includes(FAKE_KEY), "the key is in the page");
    assert.equal(answers.length, 1);
    assert.ok(!answers[0].includes(FAKE_KEY), "the key is in the API's answer");
    await axe(page, "providers");
    await page.closeChecked();
});

test("Test pings the provider and shows its answer, latency and usage", async () => {
    const page = await openPage(ctx.browser, ctx.stack.base);
    await page.goto("/providers");
    await page.getByRole("button", { name: "Test openai", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Test openai" });
    assert.equal(await dialog.getByLabel("Model").inputValue(), "gpt_4_1"); // the first Kiln model
    await dialog.getByLabel("Model").fill("gpt-4o-mini");
    await dialog.getByRole("button", { name: "Send test request" }).click();
    await dialog.locator(".ping-answer").waitFor();
    assert.match(await dialog.locator(".ping-answer").textContent(), /^fake answer [0-9a-f]+: Say hello/);
    assert.match(await dialog.locator(".facts").textContent(), /Latency\d+ msInput tokens\d+Output tokens\d+/);
    await axe(page, "providers, test answered");
    await shoot(page, "providers-test", "en");
    await dialog.getByRole("button", { name: "Close" }).click();

    // a provider with no key: the server's reason
    await page.getByRole("button", { name: "Test anthropic" }).click();
    const other = page.getByRole("dialog", { name: "Test anthropic" });
    page.expectStatus(400, "/api/providers/anthropic/ping");
    await other.getByRole("button", { name: "Send test request" }).click();
    await other.getByRole("alert").waitFor();
    assert.match(await other.getByRole("alert").textContent(), /provider anthropic has no API key: set ANTHROPIC_API_KEY/);
    await axe(page, "providers, test refused");
    await page.closeChecked();
});

test("screenshots of the providers in both languages at both sizes", async () => {
    for (const [locale, lang] of [["en-US", "en"], ["zh-CN", "zh-CN"]]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(ctx.browser, ctx.stack.base, { locale, viewport: vp });
            await page.goto("/providers");
            await page.locator(".providers-table tbody tr").first().waitFor();
            await shoot(page, "providers", lang);
            await axe(page, `providers ${lang} ${vp.name}`);
            await page.closeChecked();
        }
    }
});
