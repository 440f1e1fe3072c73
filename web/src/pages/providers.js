// The model providers the server can call: whether each is configured and has its key (never
// the key itself), the environment variable that holds it, the limits and the current window;
// "Test" sends one short request through the provider (POST /api/providers/{name}/ping).
import { api } from "../api.js";
import { Dialog } from "../components/dialog.js";
import { Field } from "../components/form.js";
import { ErrorNote, Loading, useTitle } from "../components/status.js";
import { useApi } from "../data.js";
import { formatNumber, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";

await loadStyle("projects");

function limit(v) {
    return v === null || v === undefined ? t("providers.unlimited") : formatNumber(v);
}

function KeyCell({ p }) {
    if (!p.key_env.length) return html`<span class="badge">${t("providers.noKeyNeeded")}</span>`;
    return html`<span class="key-cell"><span class=${p.key_present ? "badge ok" : "badge warn"}>
            ${p.key_present ? t("providers.keyPresent") : t("providers.keyMissing")}</span>
        <span class="key-env">${p.key_env.map((v, i) => html`${i > 0 ? " / " : ""}<code>${v}</code>`)}</span></span>`;
}

function PingDialog({ provider, onClose }) {
    const [model, setModel] = useState(provider.models[0]?.name || "");
    const [state, setState] = useState({});
    const listId = `models-${provider.name}`;

    async function run(ev) {
        ev.preventDefault();
        setState({ busy: true });
        try {
            const answer = await api("POST", `/api/providers/${encodeURIComponent(provider.name)}/ping`,
                { body: { model_name: model.trim() } });
            setState({ answer });
        } catch (error) {
            setState({ error });
        }
    }

    const { answer, error, busy } = state;
    return html`<${Dialog} title=${t("providers.testTitle", { name: provider.name })} onClose=${onClose}>
        <form onSubmit=${run} novalidate>
            <${Field} label=${t("providers.model")} name="model_name" error=${error}
                hint=${t("providers.modelHint")}>
                ${(id, d, inv) => html`<input id=${id} type="text" list=${listId} value=${model}
                    aria-describedby=${d} aria-invalid=${inv ? "true" : undefined} autocomplete="off"
                    onInput=${(ev) => setModel(ev.currentTarget.value)} />
                    <datalist id=${listId}>
                        ${provider.models.map((m) => html`<option value=${m.name}>${m.model_id}</option>`)}
                    </datalist>`}
            </${Field}>
            <div aria-live="polite" class="ping-result">
                ${busy && html`<${Loading} label=${t("providers.testing")} />`}
                ${error && error.field !== "model_name" && html`<${ErrorNote} error=${error} />`}
                ${answer && html`<div class="ping-ok">
                    <p><span class="badge ok">${t("providers.pingOk")}</span>
                        <span class="muted">${answer.model_id}</span></p>
                    <blockquote class="ping-answer">${answer.answer}</blockquote>
                    <dl class="facts inline">
                        <div><dt>${t("providers.latency")}</dt><dd>${t("providers.ms", { n: answer.latency_ms })}</dd></div>
                        <div><dt>${t("providers.inputTokens")}</dt><dd>${formatNumber(answer.usage?.input_tokens ?? 0)}</dd></div>
                        <div><dt>${t("providers.outputTokens")}</dt><dd>${formatNumber(answer.usage?.output_tokens ?? 0)}</dd></div>
                    </dl>
                </div>`}
            </div>
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.close")}</button>
                <button type="submit" class="btn primary" disabled=${busy || !model.trim()}>${t("providers.runTest")}</button>
            </div>
        </form>
    </${Dialog}>`;
}

export default function Providers() {
    useTitle(t("shell.providers"));
    const list = useApi((signal) => api("GET", "/api/providers", { signal }), []);
    const [testing, setTesting] = useState(null);
    const providers = list.data?.providers;
    const ready = providers?.filter((p) => p.configured).length ?? 0;
    return html`<section class="page providers-page">
        <div class="page-head">
            <div>
                <h1>${t("shell.providers")}</h1>
                <p class="muted">${t("providers.lead")}</p>
            </div>
            ${providers && html`<p class="providers-count"><span class="badge ok">
                ${t("providers.readyCount", { n: ready, total: providers.length })}</span></p>`}
        </div>
        ${list.error && html`<${ErrorNote} error=${list.error} onRetry=${list.reload} />`}
        ${list.loading && !providers && html`<${Loading} />`}
        ${providers && html`<table class="data providers-table">
            <caption class="visually-hidden">${t("shell.providers")}</caption>
            <thead><tr>
                <th scope="col">${t("providers.name")}</th>
                <th scope="col">${t("providers.status")}</th>
                <th scope="col">${t("providers.key")}</th>
                <th scope="col" class="num">${t("providers.concurrency")}</th>
                <th scope="col" class="num">${t("providers.rpm")}</th>
                <th scope="col" class="num">${t("providers.tpm")}</th>
                <th scope="col" class="num">${t("providers.window")}</th>
                <th scope="col"><span class="visually-hidden">${t("providers.actions")}</span></th>
            </tr></thead>
            <tbody>
                ${providers.map((p) => html`<tr key=${p.name} class=${p.configured ? "" : "off"}>
                    <th scope="row" data-label=${t("providers.name")}>
                        <span class="provider-name">${p.name}</span>
                        ${p.base_url && html`<span class="muted small mono provider-url">${p.base_url}</span>`}
                        <span class="muted small">${t("providers.modelCount", { n: p.models.length })}</span>
                    </th>
                    <td data-label=${t("providers.status")}>
                        <span class=${p.configured ? "badge ok" : "badge"}>
                            ${p.configured ? t("providers.configured") : t("providers.notConfigured")}</span>
                    </td>
                    <td data-label=${t("providers.key")}><${KeyCell} p=${p} /></td>
                    <td class="num" data-label=${t("providers.concurrency")}>${limit(p.limits.concurrency)}</td>
                    <td class="num" data-label=${t("providers.rpm")}>${limit(p.limits.rpm)}</td>
                    <td class="num" data-label=${t("providers.tpm")}>${limit(p.limits.tpm)}</td>
                    <td class="num" data-label=${t("providers.window")}>${formatNumber(p.window)}</td>
                    <td class="cell-action">
                        <button type="button" class="btn small" onClick=${() => setTesting(p)}
                            aria-label=${t("providers.testNamed", { name: p.name })}>${t("providers.test")}</button>
                    </td>
                </tr>`)}
            </tbody>
        </table>`}
        ${testing && html`<${PingDialog} provider=${testing} onClose=${() => setTesting(null)} />`}
    </section>`;
}
