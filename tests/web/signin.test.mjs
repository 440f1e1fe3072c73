// Sign-in when the server requires API keys: the app lands on the sign-in page with where the
// user was headed, a wrong key is refused with the server's message, the right key gets in (and
// is kept for the tab), and signing out sends the user back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, openPage, shoot, VIEWPORTS, useStack } from "./harness.mjs";

const WRONG = `hetu_100000000099_${"0".repeat(64)}`;
let adminKey;
// the first admin key, made while the server is open; from then on every API call needs one
const ctx = useStack({}, async ({ stack }) => {
    adminKey = (await api(stack.base, "POST", "/api/keys", { name: "ops", admin: true })).key;
});

async function refusal(key) {
    const res = await fetch(`${ctx.stack.base}/api/projects`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(res.status, 401);
    return (await res.json()).detail;
}

test("the app asks for a key, refuses a wrong one with the server's message, and lets the right one in", async () => {
    const page = await openPage(ctx.browser, ctx.stack.base);
    page.expectStatus(401, "/api/providers");
    await page.goto("/providers");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/signin");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/providers");
    await axe(page, "sign-in");

    const input = page.getByLabel("API key");
    assert.equal(await input.getAttribute("type"), "password");
    await input.fill(WRONG);
    page.expectStatus(401, "/api/projects");
    await page.getByRole("button", { name: "Sign in" }).click();
    const message = page.locator(".field-error");
    await message.waitFor();
    assert.equal(await message.textContent(), await refusal(WRONG));
    assert.equal(await page.evaluate(() => sessionStorage.getItem("hetu.key")), null);
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    await axe(page, "sign-in, wrong key");

    await input.fill(adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Providers" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/providers");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("hetu.key")), adminKey);
    await page.getByRole("row", { name: /^openai / }).waitFor();

    // signed in, the key rides along on every page
    await page.getByRole("link", { name: "Projects" }).click();
    await page.getByRole("heading", { name: "No projects yet" }).waitFor();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("hetu.key")), null);
    assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
    page.expectStatus(401, "/api/projects");
    await page.goto("/");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.closeChecked();
});

test("screenshots of the sign-in page in both languages at both sizes", async () => {
    for (const [locale, lang] of [["en-US", "en"], ["zh-CN", "zh-CN"]]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(ctx.browser, ctx.stack.base, { locale, viewport: vp });
            page.expectStatus(401, "/api/projects");
            await page.goto("/");
            await page.locator(".signin-card h1").waitFor();
            await shoot(page, "signin", lang);
            await axe(page, `sign-in ${lang} ${vp.name}`);
            await page.closeChecked();
        }
    }
});
