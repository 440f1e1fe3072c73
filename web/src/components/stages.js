// The stages of a pipeline or judge job: the estimate as a table (calls, tokens and cost per
// stage, "price unknown" where the providers table has no price), a bar per stage with its
// counts, the estimate and the actual spend side by side, and the budget against the spend.
// A budget form (max cost, calls, tokens) serves the pipeline's request and a resume.
import { formatCost, formatNumber, t } from "../i18n.js";
import { html, loadStyle } from "../lib.js";
import { Field } from "./form.js";
import { ProgressBar } from "./job-progress.js";

await loadStyle("pipeline");

export const STAGES = ["topics", "inputs", "dedup", "outputs", "judge"];

function stageName(name) {
    return STAGES.includes(name) ? t(`pipeline.stage.${name}`) : name;
}

function tokens(x) {
    if (!x) return null;
    return (x.input_tokens || 0) + (x.output_tokens || 0);
}

function cost(x) {
    if (!x) return "—";
    if (x.cost_usd === null || x.cost_usd === undefined)
        return html`<span class="price-unknown">${t("pipeline.priceUnknown")}</span>`;
    return formatCost(x.cost_usd);
}

function num(n) {
    return n === null || n === undefined ? "—" : formatNumber(n);
}

// The dry run's estimate: a row per stage with calls, input, output tokens and cost.
export function EstimateTable({ estimate, caption }) {
    const rows = STAGES.filter((s) => estimate.stages?.[s]);
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption || t("pipeline.estimate")}>
        <table class="data estimate-table">
        <caption class=${caption ? "" : "visually-hidden"}>${caption || t("pipeline.estimate")}</caption>
        <thead><tr>
            <th scope="col">${t("pipeline.stageCol")}</th>
            <th scope="col" class="num">${t("pipeline.calls")}</th>
            <th scope="col" class="num">${t("pipeline.inputTokens")}</th>
            <th scope="col" class="num">${t("pipeline.outputTokens")}</th>
            <th scope="col" class="num">${t("pipeline.cost")}</th>
        </tr></thead>
        <tbody>${rows.map((s) => {
            const x = estimate.stages[s];
            return html`<tr key=${s} data-stage=${s}>
                <th scope="row">${stageName(s)}</th>
                <td class="num">${num(x.calls)}</td>
                <td class="num">${num(x.input_tokens)}</td>
                <td class="num">${num(x.output_tokens)}</td>
                <td class="num">${cost(x)}</td>
            </tr>`;
        })}</tbody>
        ${estimate.total && html`<tfoot><tr data-stage="total">
            <th scope="row">${t("pipeline.total")}</th>
            <td class="num">${num(estimate.total.calls)}</td>
            <td class="num">${num(estimate.total.input_tokens)}</td>
            <td class="num">${num(estimate.total.output_tokens)}</td>
            <td class="num">${cost(estimate.total)}</td>
        </tr></tfoot>`}
    </table></div>`;
}

// A stage's item count ("items" as the job reports it; "total" also read).
function items(s) {
    return s.items ?? s.total ?? 0;
}

function stageShare(s) {
    if (!items(s)) return 0;
    return Math.min(1, ((s.done || 0) + (s.failed || 0)) / items(s));
}

// A bar per stage: done of total, failed, pending and what it produced.
export function StageBars({ stages }) {
    const names = [...STAGES.filter((s) => stages[s]), ...Object.keys(stages).filter((s) => !STAGES.includes(s))];
    return html`<ol class="stage-bars">${names.map((name) => {
        const s = stages[name];
        return html`<li key=${name} class="stage-bar" data-stage=${name}>
            <div class="stage-bar-head">
                <span class="stage-name">${stageName(name)}</span>
                <span class="stage-count" data-count="done">${t("pipeline.doneOf", { n: s.done || 0, total: items(s) })}</span>
            </div>
            <${ProgressBar} share=${stageShare(s)} label=${t("pipeline.stageProgress", { stage: stageName(name) })} />
            <div class="stage-bar-foot muted small">
                ${s.pending ? html`<span>${t("pipeline.pending", { n: s.pending })}</span>` : null}
                ${s.failed ? html`<span class="bad" data-count="failed">${t("jobs.failedN", { n: s.failed })}</span>` : null}
                ${s.produced ? html`<span data-count="produced">${t(`pipeline.produced.${STAGES.includes(name) ? name : "other"}`, { n: s.produced })}</span>` : null}
            </div>
        </li>`;
    })}</ol>`;
}

// Estimated and actual per stage: calls, tokens and cost, each as two columns.
export function EstimateVsActual({ stages }) {
    const names = STAGES.filter((s) => stages[s]);
    const sum = (get) => names.reduce((n, s) => n + (get(stages[s]) || 0), 0);
    const anyUnpriced = (get) => names.some((s) => get(stages[s]) && (get(stages[s]).cost_usd === null));
    const estTotal = { calls: sum((s) => s.estimate?.calls), input_tokens: sum((s) => s.estimate?.input_tokens),
        output_tokens: sum((s) => s.estimate?.output_tokens),
        cost_usd: anyUnpriced((s) => s.estimate) ? null : sum((s) => s.estimate?.cost_usd) };
    const actTotal = { calls: sum((s) => s.calls), input_tokens: sum((s) => s.input_tokens),
        output_tokens: sum((s) => s.output_tokens),
        cost_usd: names.some((s) => stages[s].cost_usd === null && stages[s].calls) ? null : sum((s) => s.cost_usd) };
    const row = (label, est, act, key, Head = "th") => html`<tr key=${key} data-stage=${key}>
        <${Head} scope="row">${label}</${Head}>
        <td class="num est" data-col="est-calls">${est ? num(est.calls) : "—"}</td>
        <td class="num" data-col="calls">${num(act.calls)}</td>
        <td class="num est" data-col="est-tokens">${est ? num(tokens(est)) : "—"}</td>
        <td class="num" data-col="tokens">${num(tokens(act))}</td>
        <td class="num est" data-col="est-cost">${est ? cost(est) : "—"}</td>
        <td class="num" data-col="cost">${act.calls || act.cost_usd ? cost(act) : num(0)}</td>
    </tr>`;
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${t("pipeline.estVsActual")}>
        <table class="data compare-table">
        <caption class="visually-hidden">${t("pipeline.estVsActual")}</caption>
        <thead>
            <tr>
                <td></td>
                <th scope="colgroup" colspan="2" class="num">${t("pipeline.calls")}</th>
                <th scope="colgroup" colspan="2" class="num">${t("pipeline.tokens")}</th>
                <th scope="colgroup" colspan="2" class="num">${t("pipeline.cost")}</th>
            </tr>
            <tr>
                <th scope="col">${t("pipeline.stageCol")}</th>
                ${[1, 2, 3].map(() => html`<th scope="col" class="num est">${t("pipeline.estimated")}</th>
                    <th scope="col" class="num">${t("pipeline.actual")}</th>`)}
            </tr>
        </thead>
        <tbody>${names.map((s) => row(stageName(s), stages[s].estimate, stages[s], s))}</tbody>
        <tfoot>${row(t("pipeline.total"), estTotal, actTotal, "total")}</tfoot>
    </table></div>`;
}

function limitRow(label, spent, max, fmt, key) {
    const has = max !== null && max !== undefined && max >= 0;
    if (spent === null) // a price unknown: the cost spent cannot be told
        return html`<div class="budget-row" data-limit=${key}><div class="budget-row-head"><span>${label}</span>
            <span class="price-unknown">${t("pipeline.priceUnknown")}</span></div></div>`;
    const share = has && max > 0 ? Math.min(1, spent / max) : has ? 1 : 0;
    return html`<div class="budget-row" data-limit=${key}>
        <div class="budget-row-head">
            <span>${label}</span>
            <span class="budget-figures">${has ? t("pipeline.spentOf", { spent: fmt(spent), max: fmt(max) })
                : t("pipeline.spentNoCap", { spent: fmt(spent) })}</span>
        </div>
        ${has && html`<${ProgressBar} share=${share} label=${t("pipeline.budgetUse", { what: label })} />`}
    </div>`;
}

// The budget (caps) against the spend so far.
export function BudgetSpend({ budget, spent }) {
    const b = budget || {};
    const s = spent || {};
    const none = ["max_cost_usd", "max_calls", "max_tokens"].every((k) => b[k] === null || b[k] === undefined || b[k] < 0);
    return html`<div class="budget-spend">
        ${none && html`<p class="muted">${t("pipeline.noBudget")}</p>`}
        ${limitRow(t("pipeline.cost"), s.cost_usd === null && s.calls ? null : s.cost_usd || 0, b.max_cost_usd, (v) => formatCost(v), "cost")}
        ${limitRow(t("pipeline.calls"), s.calls || 0, b.max_calls, (v) => formatNumber(v), "calls")}
        ${limitRow(t("pipeline.tokens"), s.tokens || 0, b.max_tokens, (v) => formatNumber(v), "tokens")}
    </div>`;
}

// The budget's three caps as text fields ({max_cost_usd, max_calls, max_tokens}, "" for none).
export function budgetForm(budget) {
    const v = (x) => (x === null || x === undefined || x < 0 ? "" : String(x));
    return { max_cost_usd: v(budget?.max_cost_usd), max_calls: v(budget?.max_calls), max_tokens: v(budget?.max_tokens) };
}

// The form's caps as the API takes them (absent when empty), or null when none is set.
export function budgetBody(form) {
    const out = {};
    if (form.max_cost_usd.trim() !== "") out.max_cost_usd = Number(form.max_cost_usd);
    if (form.max_calls.trim() !== "") out.max_calls = Number(form.max_calls);
    if (form.max_tokens.trim() !== "") out.max_tokens = Number(form.max_tokens);
    return Object.keys(out).length ? out : null;
}

export function BudgetFields({ value, onChange, error, prefix = "budget" }) {
    const one = (key, label, step) => html`<${Field} label=${label} name=${`${prefix}.${key}`} error=${error}>
        ${(id, describedBy) => html`<input id=${id} type="number" min="0" step=${step} inputmode="decimal"
            value=${value[key]} placeholder=${t("pipeline.noCap")} aria-describedby=${describedBy}
            onInput=${(ev) => onChange({ ...value, [key]: ev.currentTarget.value })} />`}
    </${Field}>`;
    return html`<div class="budget-fields">
        ${one("max_cost_usd", t("pipeline.maxCost"), "0.01")}
        ${one("max_calls", t("pipeline.maxCalls"), "1")}
        ${one("max_tokens", t("pipeline.maxTokens"), "1")}
    </div>`;
}
