// A task's dataset splits: the list with each part's share and sample count and a Download per
// part, and a dialog that freezes a new split (POST .../dataset_splits).
import { api, download, withQuery } from "../api.js";
import { Dialog } from "./dialog.js";
import { Field } from "./form.js";
import { Empty, ErrorNote, Loading } from "./status.js";
import { toast } from "./toast.js";
import { useApi } from "../data.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { html, useState } from "../lib.js";

export const SPLIT_TYPES = ["train_test", "train_val", "train_test_val", "train_test_val_80", "all"];
const FILTERS = ["all", "high_rating", "thinking_model", "thinking_model_high_rated", "tag"];

function filterLabel(id) {
    if (id && id.startsWith("tag::")) return t("export.filter.tagNamed", { tag: id.slice(5) });
    return FILTERS.includes(id) ? t(`export.filter.${id}`) : id;
}

function CreateSplit({ base, onClose, onCreated }) {
    const [form, setForm] = useState({ type: "train_test", filter: "all", tag: "", name: "", description: "", seed: "" });
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const set = (k) => (ev) => setForm((f) => ({ ...f, [k]: ev.target.value }));
    async function submit(ev) {
        ev.preventDefault();
        setBusy(true);
        setError(null);
        const body = {
            dataset_split_type: form.type,
            filter_id: form.filter === "tag" ? `tag::${form.tag.trim()}` : form.filter,
        };
        if (form.name.trim()) body.name = form.name.trim();
        if (form.description.trim()) body.description = form.description.trim();
        if (form.seed !== "") body.seed = Number(form.seed);
        try {
            const split = await api("POST", `${base}/dataset_splits`, { body });
            toast(t("export.splitCreated", { name: split.name }));
            onCreated(split);
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    }
    return html`<${Dialog} title=${t("export.newSplit")} onClose=${onClose}>
        <form onSubmit=${submit} class="split-form">
            <${Field} label=${t("export.splitType")} name="dataset_split_type" error=${error} hint=${t(`export.splitType.${form.type}`)}>
                ${(id, d) => html`<select id=${id} value=${form.type} onChange=${set("type")} aria-describedby=${d}>
                    ${SPLIT_TYPES.map((x) => html`<option value=${x}>${t(`export.splitTypeName.${x}`)}</option>`)}
                </select>`}
            </${Field}>
            <${Field} label=${t("export.splitFilter")} name="filter_id" error=${error} hint=${t(`export.filterHint.${form.filter}`)}>
                ${(id, d) => html`<select id=${id} value=${form.filter} onChange=${set("filter")} aria-describedby=${d}>
                    ${FILTERS.map((x) => html`<option value=${x}>${t(`export.filter.${x}`)}</option>`)}
                </select>`}
            </${Field}>
            ${form.filter === "tag" && html`<${Field} label=${t("export.filterTag")} name="tag" error=${error}>
                ${(id) => html`<input id=${id} type="text" required value=${form.tag} onInput=${set("tag")} />`}
            </${Field}>`}
            <${Field} label=${t("common.name")} name="name" error=${error} hint=${t("export.splitNameHint")}>
                ${(id, d) => html`<input id=${id} type="text" value=${form.name} onInput=${set("name")} aria-describedby=${d} />`}
            </${Field}>
            <${Field} label=${t("common.description")} name="description" error=${error}>
                ${(id) => html`<textarea id=${id} rows="2" value=${form.description} onInput=${set("description")}></textarea>`}
            </${Field}>
            <${Field} label=${t("export.seed")} name="seed" error=${error} hint=${t("export.seedHint")}>
                ${(id, d) => html`<input id=${id} type="number" step="1" value=${form.seed} onInput=${set("seed")} aria-describedby=${d} />`}
            </${Field}>
            ${error && !["dataset_split_type", "filter_id", "name", "description", "seed"].includes(error.field) &&
                html`<${ErrorNote} error=${error} />`}
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${busy}>${busy ? t("common.saving") : t("export.createSplit")}</button>
            </div>
        </form>
    </${Dialog}>`;
}

function SplitCard({ split, downloadQuery, base }) {
    const parts = split.splits || [];
    async function get(part) {
        const path = withQuery(`${base}/export`, { ...downloadQuery, dataset_id: split.id, split_name: part });
        try {
            await download(path, `${split.name}.${part}.jsonl`);
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }
    return html`<li class="card split-card">
        <div class="split-head">
            <h3>${split.name}</h3>
            <span class="tag">${filterLabel(split.filter)}</span>
        </div>
        ${split.description && html`<p class="muted">${split.description}</p>`}
        <p class="muted small">${formatDate(split.created_at)} · <span class="mono">${split.id}</span></p>
        <table class="data split-parts">
            <thead><tr><th scope="col">${t("export.part")}</th><th scope="col" class="num">${t("export.share")}</th>
                <th scope="col" class="num">${t("export.samples")}</th><th scope="col"><span class="visually-hidden">${t("export.download")}</span></th></tr></thead>
            <tbody>${parts.map((p) => {
                const n = split.split_contents?.[p.name]?.length ?? 0;
                return html`<tr key=${p.name}>
                    <th scope="row">${p.name}</th>
                    <td class="num">${formatNumber(p.percentage, { style: "percent", maximumFractionDigits: 0 })}</td>
                    <td class="num" data-count=${p.name}>${formatNumber(n)}</td>
                    <td class="num"><button type="button" class="btn small" disabled=${n === 0} onClick=${() => get(p.name)}
                        aria-label=${t("export.downloadPart", { part: p.name, split: split.name })}>${t("export.download")}</button></td>
                </tr>`;
            })}</tbody>
        </table>
    </li>`;
}

// The task's splits as useApi keeps them (the export form picks parts from the same list).
export function useSplits(base) {
    return useApi((signal) => api("GET", `${base}/dataset_splits`, { signal }), [base]);
}

// base: the task's path (…/projects/{p}/tasks/{t}); list: useSplits(base); downloadQuery: the
// export's format and message options, applied to each part's download.
export function Splits({ base, list, downloadQuery }) {
    const [creating, setCreating] = useState(false);
    const splits = list.data ?? [];
    return html`<section class="splits" aria-labelledby="splits-title">
        <div class="page-head">
            <div><h2 id="splits-title">${t("export.splits")}</h2><p class="muted">${t("export.splitsIntro")}</p></div>
            <div class="actions"><button type="button" class="btn primary" onClick=${() => setCreating(true)}>${t("export.newSplit")}</button></div>
        </div>
        ${list.error && html`<${ErrorNote} error=${list.error} onRetry=${list.reload} />`}
        ${list.loading && !list.data && html`<${Loading} />`}
        ${list.data && splits.length === 0 && html`<${Empty}>${t("export.noSplits")}</${Empty}>`}
        ${splits.length > 0 && html`<ul class="split-list">${[...splits].reverse().map((s) => html`<${SplitCard} key=${s.id}
            split=${s} base=${base} downloadQuery=${downloadQuery} />`)}</ul>`}
        ${creating && html`<${CreateSplit} base=${base} onClose=${() => setCreating(false)}
            onCreated=${(s) => { setCreating(false); list.setData([...splits, s]); }} />`}
    </section>`;
}
