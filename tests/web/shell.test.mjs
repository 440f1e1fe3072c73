// The shell: the app loads at / with no errors, client-side routes reload to the same page,
// the language follows the browser and can be switched, and the choice is kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { axe, openPage, useStack } from "./harness.mjs";

const live = useStack();

test("the app loads at / and names its sections in English", async () => {
    const page = await openPage(live.browser, live.stack.base, { locale: "en-US" });
    await page.goto("/");
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Providers" }).count(), 1);
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await axe(page, "shell");
    await page.closeChecked();
});

test("a Chinese browser gets Chinese, and the switch to English is kept across reloads", async () => {
    const page = await openPage(live.browser, live.stack.base, { locale: "zh-CN" });
    await page.goto("/providers");
    await page.getByRole("link", { name: "模型服务商" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
    await page.getByLabel("语言").selectOption("en");
    await page.getByRole("link", { name: "Providers" }).waitFor();
    await page.reload();
    await page.getByRole("link", { name: "Providers" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await page.closeChecked();
});

test("an unknown client path shows the not-found page inside the app", async () => {
    const page = await openPage(live.browser, live.stack.base);
    await page.goto("/no/such/page");
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.closeChecked();
});
