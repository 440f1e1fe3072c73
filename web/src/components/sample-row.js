// A sample as a row of the samples list. The list keeps only what its columns show (a "slim"
// sample: excerpts, topic, rating, tags, models, time), so 100,000 loaded samples stay light;
// the detail fetches the whole sample.
import { getLocale, t } from "../i18n.js";
import { html } from "../lib.js";
import { Link } from "../router.js";
import { JudgeBadge } from "./judge-rating.js";
import { RatingBadge } from "./rating.js";

const EXCERPT = 160;

// One date format per language for all rows (a new Intl.DateTimeFormat per row costs).
const dateFormats = new Map();
function shortDate(iso) {
    const locale = getLocale();
    if (!dateFormats.has(locale))
        dateFormats.set(locale, new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }));
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso || "—" : dateFormats.get(locale).format(d);
}

function excerpt(text) {
    const s = String(text ?? "").replace(/\s+/g, " ").trim();
    return s.length > EXCERPT ? `${s.slice(0, EXCERPT)}…` : s;
}

// The topic path as "a › b" (stored joined by ">>>>>").
export function runTopic(run) {
    const p = run.input_source?.properties?.topic_path;
    return p ? p.split(">>>>>").join(" › ") : "";
}

function model(props) {
    if (!props?.model_name) return null;
    return props.model_provider ? `${props.model_name} (${props.model_provider})` : props.model_name;
}

export function runModels(run) {
    return { input: model(run.input_source?.properties), output: model(run.output?.source?.properties) };
}

export function slim(run) {
    const repaired = run.repaired_output;
    const models = runModels(run);
    return {
        id: run.id,
        input: excerpt(run.input),
        output: excerpt(repaired ? (typeof repaired === "string" ? repaired : repaired.output) : run.output?.output),
        repaired: Boolean(repaired),
        topic: runTopic(run),
        rating: run.output?.rating || null,
        judge: run.judge_rating || null,
        tags: run.tags || [],
        models: [...new Set([models.input, models.output].filter(Boolean))].join(", "),
        created: run.created_at,
    };
}

export function SampleListHeader() {
    return html`<div class="shead" role="rowgroup">
        <div role="row" class="srow" aria-rowindex="1">
            <span role="columnheader" class="c-input">${t("samples.col.input")}</span>
            <span role="columnheader" class="c-output">${t("samples.col.output")}</span>
            <span role="columnheader" class="c-topic">${t("samples.col.topic")}</span>
            <span role="columnheader" class="c-rating">${t("samples.col.rating")}</span>
            <span role="columnheader" class="c-tags">${t("samples.col.tags")}</span>
            <span role="columnheader" class="c-models">${t("samples.col.models")}</span>
            <span role="columnheader" class="c-created">${t("samples.col.created")}</span>
        </div>
    </div>`;
}

// One row; s is a slim sample or undefined while its page loads.
export function SampleRow({ s, index, href, selected, height }) {
    const style = `height:${height}px`;
    if (!s)
        return html`<div role="row" class="srow placeholder" aria-rowindex=${index + 2} style=${style}>
            <span role="cell" class="c-input"><span class="skeleton"></span></span></div>`;
    return html`<div role="row" class=${selected ? "srow selected" : "srow"} aria-rowindex=${index + 2}
            aria-selected=${selected ? "true" : "false"} style=${style} data-id=${s.id}>
        <span role="cell" class="c-input"><${Link} href=${href} class="srow-link"
            aria-current=${selected ? "true" : undefined}>${s.input || t("samples.empty")}</${Link}></span>
        <span role="cell" class="c-output">${s.repaired && html`<span class="badge info">${t("samples.repaired")}</span> `}${s.output}</span>
        <span role="cell" class="c-topic" title=${s.topic}>${s.topic}</span>
        <span role="cell" class=${s.judge ? "c-rating with-judge" : "c-rating"}><${RatingBadge} rating=${s.rating} /><${JudgeBadge} rating=${s.judge} /></span>
        <span role="cell" class="c-tags">${s.tags.slice(0, 3).map((x) => html`<span class="tag">${x}</span>`)}${s.tags.length > 3 && html`<span class="muted">+${s.tags.length - 3}</span>`}</span>
        <span role="cell" class="c-models" title=${s.models}>${s.models}</span>
        <span role="cell" class="c-created">${shortDate(s.created)}</span>
    </div>`;
}
