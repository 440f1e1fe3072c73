// The message catalogue: both languages have the same messages, none empty, with the same
// placeholders; every t("...") in the interface's code names a message that exists; and the
// vendored libraries are exactly what package-lock.json pins (scripts/vendor-web --check).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./harness.mjs";

const { catalogue } = await import(join(REPO, "web", "src", "messages", "index.js"));

function placeholders(text) {
    const forms = typeof text === "object" ? Object.values(text) : [text];
    return [...new Set(forms.flatMap((f) => [...f.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
}

function sources(dir) {
    return readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? sources(p) : p.endsWith(".js") ? [p] : [];
    });
}

test("English and Chinese have the same messages with the same placeholders", () => {
    const en = catalogue.en;
    const zh = catalogue["zh-CN"];
    assert.deepEqual(Object.keys(zh).filter((k) => !(k in en)), [], "only in zh-CN");
    assert.deepEqual(Object.keys(en).filter((k) => !(k in zh)), [], "only in en");
    for (const [k, v] of Object.entries(en)) {
        assert.ok(typeof v === "string" ? v.trim() : v.other, `en ${k} is empty`);
        assert.deepEqual(placeholders(zh[k]), placeholders(v), `placeholders of ${k}`);
    }
});

test("every message the code asks for exists", () => {
    const missing = [];
    for (const file of sources(join(REPO, "web", "src"))) {
        const text = readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, ""); // code, not comments
        for (const m of text.matchAll(/\bt\(\s*["'`]([\w.-]+)["'`]/g))
            if (!(m[1] in catalogue.en)) missing.push(`${file.slice(REPO.length + 1)}: ${m[1]}`);
    }
    assert.deepEqual(missing, []);
});

test("web/vendor holds exactly the libraries package-lock.json pins", () => {
    execFileSync("/usr/bin/python3", [join(REPO, "scripts", "vendor-web"), "--check"], { stdio: "pipe" });
});
