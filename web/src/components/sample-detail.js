// One sample in full: input, output (pretty-printed when it is JSON), the repair, chain of
// thought and other intermediate outputs, provenance, usage and cost; and the reviewer's tools:
// the overall rating and one per requirement (each in its own Kiln type), tags, a repair
// editor, delete. The page owns the data and the actions; this draws them.
import { formatCost, formatDate, formatNumber, t } from "../i18n.js";
import { html, useEffect, useRef, useState } from "../lib.js";
import { Link } from "../router.js";
import { JudgeSection } from "./judge-rating.js";
import { RatingInput } from "./rating.js";
import { runModels, runTopic } from "./sample-row.js";

// Text as shown: JSON objects and arrays pretty-printed, anything else as it is.
export function pretty(text) {
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    const s = text.trim();
    if (s.startsWith("{") || s.startsWith("[")) {
        try {
            return JSON.stringify(JSON.parse(s), null, 2);
        } catch {
            return text;
        }
    }
    return text;
}

// The repaired output's text (Kiln stores a TaskOutput; a plain string is taken as it is).
export function repairedText(run) {
    const r = run?.repaired_output;
    if (r === null || r === undefined) return null;
    if (typeof r === "string") return r;
    return typeof r.output === "string" ? r.output : JSON.stringify(r.output ?? r);
}

function Block({ title, text, cls }) {
    return html`<section class=${`sd-block ${cls || ""}`}>
        <h3>${title}</h3>
        <pre class="sd-text">${pretty(text)}</pre>
    </section>`;
}

function Meta({ items }) {
    const shown = items.filter(([, v]) => v !== null && v !== undefined && v !== "");
    return html`<dl class="sd-meta">
        ${shown.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}
    </dl>`;
}

function Provenance({ run }) {
    const ip = run.input_source?.properties || {};
    const op = run.output?.source?.properties || {};
    const models = runModels(run);
    const sourceName = (s) => (s?.type ? t(`samples.source.${s.type}`) : null);
    const topic = runTopic(run);
    const session = ip.session_id || op.session_id || null;
    return html`<section class="sd-block">
        <h3>${t("samples.provenance")}</h3>
        <${Meta} items=${[
            [t("samples.inputSource"), sourceName(run.input_source)],
            [t("samples.inputModel"), models.input],
            [t("samples.outputSource"), sourceName(run.output?.source)],
            [t("samples.outputModel"), models.output],
            [t("samples.promptMethod"), op.prompt_id || null],
            [t("samples.session"), session && html`<code>${session}</code>`],
            [t("samples.topic"), topic],
            [t("samples.file"), ip.file_name || op.file_name || null],
            [t("samples.createdBy"), run.created_by],
            [t("samples.createdAt"), formatDate(run.created_at)],
            [t("samples.id"), html`<code>${run.id}</code>`],
        ]} />
    </section>`;
}

function Usage({ usage }) {
    if (!usage) return null;
    const n = (v) => (v === null || v === undefined ? null : formatNumber(v));
    const items = [
        [t("samples.inputTokens"), n(usage.input_tokens)],
        [t("samples.outputTokens"), n(usage.output_tokens)],
        [t("samples.totalTokens"), n(usage.total_tokens)],
        [t("samples.cost"), usage.cost === null || usage.cost === undefined ? null : formatCost(usage.cost)],
    ];
    if (!items.some(([, v]) => v !== null)) return null;
    return html`<section class="sd-block"><h3>${t("samples.usage")}</h3><${Meta} items=${items} /></section>`;
}

function Intermediate({ outputs }) {
    const keys = Object.keys(outputs || {});
    if (!keys.length) return null;
    return html`<section class="sd-block">
        <h3>${t("samples.intermediate")}</h3>
        ${keys.map((k) => html`<details class="sd-details" open=${keys.length === 1}>
            <summary>${k === "chain_of_thought" ? t("samples.chainOfThought") : k}</summary>
            <pre class="sd-text">${pretty(outputs[k])}</pre>
        </details>`)}
    </section>`;
}

function Tags({ tags, onChange, busy, inputRef }) {
    const [draft, setDraft] = useState("");
    function add(ev) {
        ev.preventDefault();
        const v = draft.trim();
        if (!v) return;
        if (!tags.includes(v)) onChange([...tags, v]);
        setDraft("");
    }
    return html`<section class="sd-block sd-tags">
        <h3 id="sd-tags-title">${t("samples.tags")}</h3>
        <ul class="tag-list" aria-labelledby="sd-tags-title">
            ${tags.map((tag) => html`<li class="tag big">${tag}
                <button type="button" class="tag-x" disabled=${busy}
                    aria-label=${t("samples.removeTag", { tag })}
                    onClick=${() => onChange(tags.filter((x) => x !== tag))}>×</button></li>`)}
            ${tags.length === 0 && html`<li class="muted">${t("samples.noTags")}</li>`}
        </ul>
        <form class="tag-add" onSubmit=${add}>
            <input type="text" ref=${inputRef} value=${draft} maxlength="128"
                aria-label=${t("samples.newTag")} placeholder=${t("samples.newTagHint")}
                onInput=${(ev) => setDraft(ev.currentTarget.value)} />
            <button type="submit" class="btn small" disabled=${busy || !draft.trim()}>${t("samples.addTag")}</button>
        </form>
    </section>`;
}

function RepairEditor({ run, onSave, onCancel, busy, error }) {
    const [text, setText] = useState(repairedText(run) ?? pretty(run.output?.output ?? ""));
    const [why, setWhy] = useState(run.repair_instructions || "");
    const area = useRef(null);
    useEffect(() => area.current?.focus(), []);
    function submit(ev) {
        ev.preventDefault();
        onSave(text, why);
    }
    return html`<form class="sd-block sd-repair-edit" onSubmit=${submit}>
        <h3>${t("samples.repairTitle")}</h3>
        <div class="field">
            <label for="sd-repair-text">${t("samples.repairedOutput")}</label>
            <textarea id="sd-repair-text" ref=${area} class="code" value=${text}
                aria-invalid=${error ? "true" : undefined} aria-describedby=${error ? "sd-repair-err" : undefined}
                onInput=${(ev) => setText(ev.currentTarget.value)}></textarea>
            ${error && html`<p class="field-error" id="sd-repair-err">${error.message}</p>`}
        </div>
        <div class="field">
            <label for="sd-repair-why">${t("samples.repairInstructions")}</label>
            <textarea id="sd-repair-why" value=${why} placeholder=${t("samples.repairInstructionsHint")}
                onInput=${(ev) => setWhy(ev.currentTarget.value)}></textarea>
        </div>
        <div class="actions">
            <button type="button" class="btn" onClick=${onCancel}>${t("common.cancel")}</button>
            <button type="submit" class="btn primary" disabled=${busy || !text.trim()}>
                ${busy ? t("common.saving") : t("samples.saveRepair")}</button>
        </div>
    </form>`;
}

// props: run, task, busy, editing, backHref, onRate(value), onRateRequirement(req, value),
// onTags(list), onRepair(text, instructions), repairError, onEdit(bool), onDelete(), tagInput (a ref),
// position ({index, count} or null), prevHref, nextHref.
export function SampleDetail(props) {
    const { run, task, busy } = props;
    const rating = run.output?.rating || null;
    const overallType = rating?.type || "five_star";
    const reqRatings = rating?.requirement_ratings || {};
    // a requirement's rating rides in the overall one, which the API requires to have a value
    const overallRated = rating?.value !== null && rating?.value !== undefined;
    const repaired = repairedText(run);
    const heading = useRef(null);
    // on a phone the detail takes the list's place: the reader starts at its heading
    useEffect(() => {
        if (matchMedia("(max-width: 900px)").matches && !heading.current.contains(document.activeElement))
            heading.current.focus({ preventScroll: false });
    }, [run.id]);
    return html`<article class="sample-detail" aria-labelledby="sd-title" aria-busy=${busy ? "true" : "false"}>
        <header class="sd-head">
            <${Link} href=${props.backHref} class="btn small ghost sd-back">← ${t("samples.backToList")}</${Link}>
            <h2 id="sd-title" ref=${heading} tabindex="-1">${t("samples.sample")}
                ${props.position && html` <span class="muted sd-pos">${t("samples.position", props.position)}</span>`}</h2>
            <div class="sd-nav">
                ${props.prevHref ? html`<${Link} class="btn small" href=${props.prevHref}
                    aria-label=${t("samples.previous")} title=${t("samples.previousKey")}>↑</${Link}>`
                    : html`<button type="button" class="btn small" disabled aria-label=${t("samples.previous")}>↑</button>`}
                ${props.nextHref ? html`<${Link} class="btn small" href=${props.nextHref}
                    aria-label=${t("samples.next")} title=${t("samples.nextKey")}>↓</${Link}>`
                    : html`<button type="button" class="btn small" disabled aria-label=${t("samples.next")}>↓</button>`}
                <${Link} class="btn small ghost sd-close" href=${props.backHref}
                    aria-label=${t("common.close")} title=${t("samples.closeKey")}>✕</${Link}>
            </div>
        </header>
        <div class="sd-scroll">
            <section class="sd-review" aria-label=${t("samples.review")}>
                <${RatingInput} type=${overallType} value=${rating?.value ?? null} disabled=${busy}
                    legend=${t("samples.overallRating")} id="sd-rating-overall"
                    onChange=${props.onRate} />
                ${(task.requirements || []).map((req) => html`<${RatingInput} key=${req.id}
                    type=${req.type || "five_star"} value=${reqRatings[req.id]?.value ?? null}
                    disabled=${busy || !overallRated} legend=${req.name}
                    hint=${overallRated ? req.instruction : `${req.instruction} · ${t("samples.rateOverallFirst")}`}
                    id=${`sd-req-${req.id}`} onChange=${(v) => props.onRateRequirement(req, v)} />`)}
            </section>
            <${JudgeSection} run=${run} task=${task} />
            <${Block} title=${t("samples.input")} text=${run.input} />
            ${props.editing
                ? html`<${RepairEditor} run=${run} busy=${busy} onSave=${props.onRepair} error=${props.repairError}
                    onCancel=${() => props.onEdit(false)} />`
                : html`${repaired !== null
                    ? html`<${Block} title=${t("samples.repairedOutput")} text=${repaired} cls="repaired" />
                        ${run.repair_instructions && html`<section class="sd-block"><h3>${t("samples.repairInstructions")}</h3>
                            <p class="sd-why">${run.repair_instructions}</p></section>`}
                        <details class="sd-details sd-original"><summary>${t("samples.originalOutput")}</summary>
                            <pre class="sd-text">${pretty(run.output?.output ?? "")}</pre></details>`
                    : html`<${Block} title=${t("samples.output")} text=${run.output?.output ?? ""} />`}
                    <div class="row sd-actions">
                        <button type="button" class="btn" onClick=${() => props.onEdit(true)}
                            title=${t("samples.editKey")}>${repaired !== null ? t("samples.editRepair") : t("samples.repair")}</button>
                    </div>`}
            <${Intermediate} outputs=${run.intermediate_outputs} />
            <${Tags} tags=${run.tags || []} onChange=${props.onTags} busy=${busy} inputRef=${props.tagInput} />
            <${Provenance} run=${run} />
            <${Usage} usage=${run.usage} />
            <div class="sd-danger">
                <button type="button" class="btn danger" onClick=${props.onDelete} disabled=${busy}
                    title=${t("samples.deleteKey")}>${t("samples.delete")}</button>
            </div>
        </div>
    </article>`;
}
