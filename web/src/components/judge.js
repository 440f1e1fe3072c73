// The LLM judge on the statistics page: the agreement between its ratings and people's (GET
// .../judge/agreement: Kendall's tau, Spearman, mean absolute error, and for pass/fail the
// agreement rate and Cohen's kappa, overall and per requirement), and the dialog that starts a
// judge job over the task's samples (POST .../judge).
import { api } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { Dialog } from "./dialog.js";
import { Field } from "./form.js";
import { modelChosen, ModelPicker, useModelChoice } from "./model-picker.js";
import { BudgetFields, budgetBody } from "./stages.js";
import { ErrorNote } from "./status.js";

await loadStyle("judge");

const METRICS = [
    ["kendall_tau", "judge.tau"], ["spearman", "judge.spearman"], ["mae", "judge.mae"],
    ["agreement", "judge.agreement"], ["kappa", "judge.kappa"],
];

function metric(key, v) {
    if (v === null || v === undefined) return html`<span class="muted" title=${t("judge.undefinedTitle")}>—</span>`;
    if (key === "agreement") return formatNumber(v, { style: "percent", maximumFractionDigits: 1 });
    return formatNumber(v, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// The agreement answer's rows: overall first, then each requirement (a list or an object keyed
// by requirement id), named as the task names them.
export function agreementRows(data, task) {
    const rows = [];
    if (data.overall) rows.push({ key: "overall", name: t("judge.overall"), ...data.overall });
    const reqs = data.requirements || data.per_requirement || [];
    const named = (id) => (task.requirements || []).find((q) => q.id === id || q.name === id)?.name || id;
    if (Array.isArray(reqs))
        for (const r of reqs) rows.push({ ...r, key: r.id || r.name, name: r.name || named(r.id) });
    else for (const [id, r] of Object.entries(reqs)) rows.push({ ...r, key: id, name: r.name || named(id) });
    return rows;
}

export function AgreementTable({ data, task }) {
    const rows = agreementRows(data, task);
    const cols = METRICS.filter(([k]) => rows.some((r) => k in r));
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${t("judge.agreementTitle")}>
        <table class="data agreement-table">
        <caption class="visually-hidden">${t("judge.agreementTitle")}</caption>
        <thead><tr>
            <th scope="col">${t("judge.what")}</th>
            <th scope="col" class="num">${t("judge.n")}</th>
            ${cols.map(([k, label]) => html`<th scope="col" class="num"><abbr title=${t(`${label}Long`)}>${t(label)}</abbr></th>`)}
        </tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.key} data-row=${r.key}>
            <th scope="row">${r.name}</th>
            <td class="num" data-metric="n">${formatNumber(r.n ?? 0)}</td>
            ${cols.map(([k]) => html`<td class="num" data-metric=${k}>${metric(k, r[k])}</td>`)}
        </tr>`)}</tbody>
    </table></div>`;
}

// The "Judge samples" dialog: model, which samples, the rating to keep, a budget.
export function JudgeDialog({ dataset, onStarted, onClose }) {
    const [model, setModel] = useModelChoice("judge");
    const [which, setWhich] = useState("unjudged");
    const [keep, setKeep] = useState("");
    const [budget, setBudget] = useState({ max_cost_usd: "", max_calls: "", max_tokens: "" });
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function submit(ev) {
        ev.preventDefault();
        setBusy(true);
        setError(null);
        const body = { provider: model.provider.trim(), model_name: model.model_name.trim() };
        if (keep) body.keep = Number(keep);
        const b = budgetBody(budget);
        if (b) body.budget = b;
        if (which === "all") body.rejudge = true;
        try {
            onStarted(await api("POST", `${dataset}/judge`, { body }));
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    }
    const modelError = error && ["provider", "model_name"].includes(error.field) ? error : null;
    return html`<${Dialog} title=${t("judge.dialogTitle")} onClose=${onClose} wide>
        <form class="judge-form" onSubmit=${submit}>
            <p class="hint">${t("judge.dialogIntro")}</p>
            <${ModelPicker} legend=${t("judge.model")} value=${model} onChange=${setModel} error=${modelError} />
            <fieldset>
                <legend>${t("judge.which")}</legend>
                ${["unjudged", "all"].map((w) => html`<label class="checkbox radio-line" key=${w}>
                    <input type="radio" name="judge-which" value=${w} checked=${which === w}
                        onChange=${() => setWhich(w)} />${t(`judge.which.${w}`)}</label>`)}
            </fieldset>
            <${Field} label=${t("pipeline.keep")} name="keep" error=${error} hint=${t("pipeline.keepHint")}>
                ${(id, describedBy) => html`<select id=${id} value=${keep} aria-describedby=${describedBy}
                    onChange=${(ev) => setKeep(ev.currentTarget.value)}>
                    <option value="">${t("pipeline.keepAll")}</option>
                    ${[2, 3, 4, 5].map((n) => html`<option value=${String(n)}>${t("pipeline.keepAtLeast", { n })}</option>`)}
                </select>`}
            </${Field}>
            <fieldset>
                <legend>${t("pipeline.budget")}</legend>
                <${BudgetFields} value=${budget} onChange=${setBudget} error=${error} />
            </fieldset>
            ${error && !modelError && !(error.field || "").startsWith("budget.") && error.field !== "keep"
                && html`<${ErrorNote} error=${error} />`}
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${busy || !modelChosen(model)}>${t("judge.start")}</button>
            </div>
        </form>
    </${Dialog}>`;
}
