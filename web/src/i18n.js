// Every text the interface shows goes through t(): one catalogue (messages/index.js) holds each
// message in English and Chinese. The language is the one the user chose (kept in
// localStorage), else the browser's first language that we have, else English.
import { catalogue } from "./messages/index.js";
import { useEffect, useState } from "./lib.js";

export const LOCALES = [
    { id: "en", label: "English" },
    { id: "zh-CN", label: "简体中文" },
];
const STORE_KEY = "hetu.locale";
const listeners = new Set();

function pick() {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved && catalogue[saved]) return saved;
    for (const lang of navigator.languages || [navigator.language || "en"]) {
        if (/^zh\b/i.test(lang)) return "zh-CN";
        if (/^en\b/i.test(lang)) return "en";
    }
    return "en";
}

let locale = pick();
document.documentElement.lang = locale;

export function getLocale() {
    return locale;
}

export function setLocale(id) {
    if (!catalogue[id] || id === locale) return;
    locale = id;
    localStorage.setItem(STORE_KEY, id);
    document.documentElement.lang = id;
    for (const fn of listeners) fn(id);
}

// Re-renders the calling component when the language changes; returns the language.
export function useLocale() {
    const [, set] = useState(locale);
    useEffect(() => {
        listeners.add(set);
        return () => listeners.delete(set);
    }, []);
    return locale;
}

// t("samples.count", {n: 3}) -> "3 samples". Placeholders are {name}, numbers formatted for the
// language. A message that depends on a count is an object of plural forms ({one, other}, as
// Intl.PluralRules names them) chosen by params.n. A missing message is a console error (the
// browser tests fail on it) and shows its key.
export function t(key, params) {
    let text = catalogue[locale][key];
    if (text === undefined) {
        console.error(`missing message "${key}" (${locale})`);
        text = catalogue.en[key] ?? key;
    }
    if (typeof text === "object") {
        const form = new Intl.PluralRules(locale).select(params?.n ?? 0);
        text = text[form] ?? text.other;
    }
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? fmt(params[name]) : m));
}

function fmt(v) {
    return typeof v === "number" ? formatNumber(v) : String(v);
}

export function formatNumber(n, options) {
    return new Intl.NumberFormat(locale, options).format(n);
}

export function formatCost(usd) {
    if (usd === null || usd === undefined) return "—";
    return new Intl.NumberFormat(locale, {
        style: "currency", currency: "USD", maximumFractionDigits: usd < 1 ? 4 : 2,
    }).format(usd);
}

export function formatDate(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}
