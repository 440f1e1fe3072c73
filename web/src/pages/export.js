// Export: a form over GET .../export (every format, the runs list's filters, one part of a
// dataset split, the message options, gzip and LLaMA-Factory's entry), a preview of the first
// lines as the form stands, Download; below it the task's dataset splits.
import { download, taskPaths, withQuery } from "../api.js";
import { ExportPreview } from "../components/export-preview.js";
import { Splits, useSplits } from "../components/export-splits.js";
import { Field } from "../components/form.js";
import { toast } from "../components/toast.js";
import { useTitle } from "../components/status.js";
import { t } from "../i18n.js";
import { html, loadStyle, useMemo, useState } from "../lib.js";

await loadStyle("transfer");

export const FORMATS = [
    "openai_chat_jsonl", "openai_chat_json_schema_jsonl", "openai_chat_toolcall_jsonl",
    "huggingface_chat_template_jsonl", "huggingface_chat_template_toolcall_jsonl", "vertex_gemini",
    "sharegpt", "alpaca", "alpaca_json", "trl_prompt_completion", "trl_messages", "csv", "hetu_jsonl",
];
const LLAMAFACTORY = new Set(["sharegpt", "alpaca", "alpaca_json", "trl_messages"]);
const SOURCES = ["human", "synthetic", "file_import"];
const EMPTY = {
    format: "openai_chat_jsonl", topic_path: "", session_id: "", tag: "", rating: "", source: "",
    split: "", data_strategy: "final_only", system_message: "", thinking_instructions: "",
    gzip: false, llamafactory: false,
};

// The export's query for the form (what the server takes; empty values left out).
function exportQuery(f) {
    const [dataset_id, split_name] = f.split ? f.split.split("/") : [null, null];
    return {
        format: f.format, topic_path: f.topic_path.trim(), session_id: f.session_id.trim(), tag: f.tag.trim(),
        rating: f.rating, source: f.source, dataset_id, split_name,
        data_strategy: f.data_strategy === "final_only" ? null : f.data_strategy,
        system_message: f.system_message, thinking_instructions:
            f.data_strategy === "final_and_intermediate" ? f.thinking_instructions : null,
        llamafactory: f.llamafactory && LLAMAFACTORY.has(f.format) ? "true" : null,
    };
}

function Select({ label, name, value, onChange, hint, children }) {
    return html`<${Field} label=${label} name=${name} hint=${hint}>
        ${(id, d) => html`<select id=${id} value=${value} onChange=${onChange} aria-describedby=${d}>${children}</select>`}
    </${Field}>`;
}

function Text({ label, name, value, onInput, hint, area }) {
    return html`<${Field} label=${label} name=${name} hint=${hint}>
        ${(id, d) => area
            ? html`<textarea id=${id} rows="3" value=${value} onInput=${onInput} aria-describedby=${d}></textarea>`
            : html`<input id=${id} type="text" value=${value} onInput=${onInput} aria-describedby=${d} autocomplete="off" />`}
    </${Field}>`;
}

export default function ExportPage({ params, task }) {
    useTitle(`${t("tabs.export")} · ${task?.name ?? ""}`);
    const paths = taskPaths(params.p, params.t);
    const splits = useSplits(paths.task);
    const [f, setF] = useState(EMPTY);
    const set = (k) => (ev) => {
        const v = ev.target.type === "checkbox" ? ev.target.checked : ev.target.value;
        setF((x) => ({ ...x, [k]: v }));
    };
    const query = useMemo(() => exportQuery(f), [f]);
    const previewPath = withQuery(`${paths.task}/export`, query);
    const downloadPath = withQuery(`${paths.task}/export`, { ...query, compress: f.gzip ? "gzip" : null });
    const partQuery = { format: f.format, data_strategy: query.data_strategy, system_message: query.system_message,
        thinking_instructions: query.thinking_instructions };
    const parts = (splits.data ?? []).flatMap((s) => (s.splits || []).map((p) => ({ id: `${s.id}/${p.name}`, label: `${s.name} › ${p.name}` })));

    async function onDownload() {
        try {
            await download(downloadPath, `${task?.name ?? "export"}.${f.format}`);
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }

    return html`<section class="page export-page">
        <div class="page-head">
            <div><h1>${t("export.title")}</h1><p class="muted">${t("export.intro")}</p></div>
        </div>
        <div class="transfer-split export-main">
            <form class="card export-form" onSubmit=${(ev) => { ev.preventDefault(); onDownload(); }} aria-labelledby="export-form-title">
                <h2 id="export-form-title">${t("export.formTitle")}</h2>
                <${Select} label=${t("export.format")} name="format" value=${f.format} onChange=${set("format")}
                    hint=${html`<span class="format-for">${t(`export.for.${f.format}`)}</span> · <span>${t(`export.line.${f.format}`)}</span>`}>
                    ${FORMATS.map((x) => html`<option value=${x}>${x}</option>`)}
                </${Select}>
                <fieldset>
                    <legend>${t("export.which")}</legend>
                    <div class="options-grid">
                        <${Text} label=${t("export.topic")} name="topic_path" value=${f.topic_path} onInput=${set("topic_path")} hint=${t("export.topicHint")} />
                        <${Text} label=${t("export.session")} name="session_id" value=${f.session_id} onInput=${set("session_id")} />
                        <${Text} label=${t("export.tag")} name="tag" value=${f.tag} onInput=${set("tag")} />
                        <${Select} label=${t("export.rating")} name="rating" value=${f.rating} onChange=${set("rating")}>
                            <option value="">${t("export.anyRating")}</option>
                            ${[1, 2, 3, 4, 5].map((n) => html`<option value=${n}>${t("export.stars", { n })}</option>`)}
                        </${Select}>
                        <${Select} label=${t("export.source")} name="source" value=${f.source} onChange=${set("source")}>
                            <option value="">${t("export.anySource")}</option>
                            ${SOURCES.map((x) => html`<option value=${x}>${t(`export.source.${x}`)}</option>`)}
                        </${Select}>
                        <${Select} label=${t("export.splitPart")} name="split_name" value=${f.split} onChange=${set("split")}>
                            <option value="">${t("export.wholeTask")}</option>
                            ${parts.map((p) => html`<option value=${p.id}>${p.label}</option>`)}
                        </${Select}>
                    </div>
                </fieldset>
                <fieldset>
                    <legend>${t("export.messages")}</legend>
                    <${Select} label=${t("export.strategy")} name="data_strategy" value=${f.data_strategy} onChange=${set("data_strategy")}
                        hint=${t(`export.strategyHint.${f.data_strategy}`)}>
                        <option value="final_only">${t("export.strategy.final_only")}</option>
                        <option value="final_and_intermediate">${t("export.strategy.final_and_intermediate")}</option>
                    </${Select}>
                    <${Text} area label=${t("export.system")} name="system_message" value=${f.system_message}
                        onInput=${set("system_message")} hint=${t("export.systemHint")} />
                    ${f.data_strategy === "final_and_intermediate" && html`<${Text} area label=${t("export.thinking")}
                        name="thinking_instructions" value=${f.thinking_instructions} onInput=${set("thinking_instructions")} />`}
                </fieldset>
                <fieldset>
                    <legend>${t("export.file")}</legend>
                    <label class="checkbox"><input type="checkbox" checked=${f.gzip} onChange=${set("gzip")} /> ${t("export.gzip")}</label>
                    ${LLAMAFACTORY.has(f.format) && html`<div><label class="checkbox"><input type="checkbox" checked=${f.llamafactory}
                        onChange=${set("llamafactory")} /> ${t("export.llamafactory")}</label>
                        <p class="hint">${t("export.llamafactoryHint")}</p></div>`}
                </fieldset>
                <div class="row">
                    <button type="submit" class="btn primary">${t("export.download")}</button>
                    <button type="button" class="btn ghost" onClick=${() => setF(EMPTY)}>${t("export.reset")}</button>
                </div>
            </form>
            <section class="card export-preview" aria-labelledby="preview-title">
                <h2 id="preview-title">${t("export.preview")}</h2>
                <p class="muted small">${query.llamafactory ? t("export.previewEntry") : t("export.previewIntro", { n: 5 })}</p>
                <${ExportPreview} path=${previewPath} limit=${5} whole=${Boolean(query.llamafactory)} />
            </section>
        </div>
        <${Splits} base=${paths.task} list=${splits} downloadQuery=${partQuery} />
    </section>`;
}
