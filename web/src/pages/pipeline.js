// The Pipeline tab: one request from the task to a finished dataset (POST .../pipelines). The
// form names each stage: the topic levels below a start node (breadth and guidance per level),
// inputs per leaf, the output model and prompt method, deduplication, an optional judge with
// the rating to keep, and a budget. "Estimate" asks for a dry run and shows calls, tokens and
// cost per stage; "Start" starts the job and goes to its page.
import { api, taskPaths } from "../api.js";
import { Field } from "../components/form.js";
import { modelChosen, ModelPicker, useModelChoice } from "../components/model-picker.js";
import { BudgetFields, budgetBody, EstimateTable } from "../components/stages.js";
import { ErrorNote, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { parseTopicText, topicText } from "../components/topic-path.js";
import { t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { navigate } from "../router.js";
import { taskHref } from "../routes.js";
import { PROMPT_METHODS } from "./generate.js";

await loadStyle("pipeline");

const MAX_DEPTH = 8;

function initialForm() {
    return {
        start: "", depth: 2, levels: [{ breadth: "5", guidance: "" }, { breadth: "5", guidance: "" }],
        perLeaf: "4", inputGuidance: "", outputGuidance: "", method: PROMPT_METHODS[0],
        exact: true, near: false, threshold: "0.8",
        judge: false, keep: "",
        budget: { max_cost_usd: "", max_calls: "", max_tokens: "" },
    };
}

// The part of an error that concerns one stage's model picker: {message, field: "provider"}.
function under(error, prefix) {
    if (!error?.field?.startsWith(`${prefix}.`)) return null;
    return { message: error.message, field: error.field.slice(prefix.length + 1) };
}

// A stage's model as the request names it; none when not chosen (the server then takes the
// outputs' model for topics and inputs).
function model(choice) {
    if (!modelChosen(choice)) return {};
    return { provider: choice.provider.trim(), model_name: choice.model_name.trim() };
}

function requestBody(f, models) {
    const levels = f.levels.slice(0, f.depth);
    const guidance = levels.map((l) => l.guidance.trim() || null);
    const body = {
        topics: {
            node_path: parseTopicText(f.start), depth: f.depth,
            breadth: levels.map((l) => Number(l.breadth)), ...(f.depth > 0 ? model(models.topics) : {}),
        },
        inputs: { per_leaf: Number(f.perLeaf), ...model(models.inputs), human_guidance: f.inputGuidance.trim() || null },
        outputs: { ...model(models.outputs), prompt_method: f.method, human_guidance: f.outputGuidance.trim() || null },
        dedup: { exact: f.exact, near: f.near, ...(f.near ? { threshold: Number(f.threshold) } : {}) },
    };
    if (guidance.some(Boolean)) body.topics.human_guidance = guidance.map((g) => g || "");
    if (f.judge) body.judge = { ...model(models.judge), ...(f.keep ? { keep: Number(f.keep) } : {}) };
    const budget = budgetBody(f.budget);
    if (budget) body.budget = budget;
    return body;
}

function Levels({ form, set, error }) {
    const setLevel = (i, change) => set({ levels: form.levels.map((l, j) => (j === i ? { ...l, ...change } : l)) });
    const setDepth = (d) => {
        const depth = Math.max(0, Math.min(MAX_DEPTH, d));
        const levels = form.levels.slice(0, depth);
        while (levels.length < depth) levels.push({ breadth: levels.at(-1)?.breadth || "5", guidance: "" });
        set({ depth, levels });
    };
    return html`<div class="levels">
        <${Field} label=${t("pipeline.depth")} name="topics.depth" error=${error} hint=${t("pipeline.depthHint")}>
            ${(id, describedBy) => html`<input id=${id} type="number" min="0" max=${MAX_DEPTH} value=${form.depth}
                aria-describedby=${describedBy} onInput=${(ev) => setDepth(Number(ev.currentTarget.value) || 0)} />`}
        </${Field}>
        ${form.levels.length > 0 && html`<ol class="level-list">${form.levels.map((l, i) => html`<li key=${i} class="level">
            <span class="level-no" aria-hidden="true">${i + 1}</span>
            <${Field} label=${t("pipeline.breadth", { n: i + 1 })} name=${`topics.breadth[${i}]`} error=${error}>
                ${(id, describedBy) => html`<input id=${id} type="number" min="1" value=${l.breadth}
                    aria-describedby=${describedBy} onInput=${(ev) => setLevel(i, { breadth: ev.currentTarget.value })} />`}
            </${Field}>
            <${Field} label=${t("pipeline.levelGuidance", { n: i + 1 })} name=${`topics.human_guidance[${i}]`} error=${error}>
                ${(id, describedBy) => html`<input id=${id} type="text" value=${l.guidance}
                    placeholder=${t("pipeline.optional")} aria-describedby=${describedBy}
                    onInput=${(ev) => setLevel(i, { guidance: ev.currentTarget.value })} />`}
            </${Field}>
        </li>`)}</ol>`}
    </div>`;
}

function Stage({ n, id, title, hint, children }) {
    return html`<section class="card stage-card" aria-labelledby=${id}>
        <h2 id=${id}><span class="step" aria-hidden="true">${n}</span>${title}</h2>
        ${hint && html`<p class="muted stage-hint">${hint}</p>`}
        ${children}
    </section>`;
}

function EstimatePanel({ estimate, stale }) {
    if (!estimate)
        return html`<p class="muted">${t("pipeline.estimateFirst")}</p>`;
    return html`<div class=${stale ? "estimate stale" : "estimate"}>
        ${stale && html`<p class="badge warn">${t("pipeline.estimateStale")}</p>`}
        <p class="estimate-lead">${t("pipeline.estimateLead", { leaves: estimate.leaves ?? 0, samples: estimate.samples ?? 0 })}</p>
        <${EstimateTable} estimate=${estimate} />
        ${estimate.priced === false && html`<p class="hint price-note" role="note">
            ${t("pipeline.unpriced", { models: (estimate.unpriced || []).join(", ") || "—" })}</p>`}
        <p class="hint">${t("pipeline.estimateNote")}</p>
    </div>`;
}

export default function PipelinePage({ params, task }) {
    useTitle(`${t("tabs.pipeline")} · ${task.name}`);
    const paths = taskPaths(params.p, params.t);
    const [form, setForm] = useState(initialForm);
    const [topicsModel, setTopicsModel] = useModelChoice("pipeline.topics");
    const [inputsModel, setInputsModel] = useModelChoice("input");
    const [outputsModel, setOutputsModel] = useModelChoice("output");
    const [judgeModel, setJudgeModel] = useModelChoice("judge");
    const [estimate, setEstimate] = useState(null);
    const [estimatedFor, setEstimatedFor] = useState(null);
    const [busy, setBusy] = useState(null); // "estimate" | "start"
    const [error, setError] = useState(null);
    const set = (change) => setForm((f) => ({ ...f, ...change }));
    const models = { topics: topicsModel, inputs: inputsModel, outputs: outputsModel, judge: judgeModel };
    const body = requestBody(form, models);
    const key = JSON.stringify(body);
    const ready = modelChosen(outputsModel) && modelChosen(inputsModel) && (form.depth === 0 || modelChosen(topicsModel))
        && (!form.judge || modelChosen(judgeModel));

    async function send(dry) {
        setBusy(dry ? "estimate" : "start");
        setError(null);
        try {
            const r = await api("POST", `${paths.dataset}/pipelines`, { body: { ...body, dry_run: dry } });
            setEstimate(r.estimate || null);
            setEstimatedFor(key);
            if (!dry) {
                toast(t("pipeline.started"));
                navigate(taskHref(params.p, params.t, `/jobs/${encodeURIComponent(r.job_id)}`));
            }
        } catch (err) {
            setError(err);
        } finally {
            setBusy(null);
        }
    }

    return html`<section class="page pipeline-page">
        <div class="page-head">
            <div>
                <h1>${t("pipeline.title")}</h1>
                <p class="muted">${t("pipeline.intro")}</p>
            </div>
        </div>
        <form class="pipeline-layout" onSubmit=${(ev) => { ev.preventDefault(); send(true); }}
            aria-label=${t("pipeline.formLabel")}>
            <div class="pipeline-stages">
                <${Stage} n="1" id="pl-topics" title=${t("pipeline.stage.topics")} hint=${t("pipeline.topicsHint")}>
                    <${Field} label=${t("pipeline.start")} name="topics.node_path" error=${error} hint=${t("pipeline.startNodeHint", { task: task.name })}>
                        ${(id, describedBy) => html`<input id=${id} type="text" value=${form.start}
                            placeholder=${t("pipeline.startPlaceholder")} aria-describedby=${describedBy}
                            onInput=${(ev) => set({ start: ev.currentTarget.value })}
                            onBlur=${() => set({ start: topicText(parseTopicText(form.start)) })} />`}
                    </${Field}>
                    <${Levels} form=${form} set=${set} error=${error} />
                    ${form.depth > 0 && html`<${ModelPicker} legend=${t("pipeline.topicsModel")} value=${topicsModel}
                        onChange=${setTopicsModel} error=${under(error, "topics")} />`}
                </${Stage}>
                <${Stage} n="2" id="pl-inputs" title=${t("pipeline.stage.inputs")}>
                    <${Field} label=${t("pipeline.perLeaf")} name="inputs.per_leaf" error=${error} hint=${t("pipeline.perLeafHint")}>
                        ${(id, describedBy) => html`<input id=${id} type="number" min="1" value=${form.perLeaf}
                            aria-describedby=${describedBy} onInput=${(ev) => set({ perLeaf: ev.currentTarget.value })} />`}
                    </${Field}>
                    <${Field} label=${t("pipeline.guidance")} name="inputs.human_guidance" error=${error}>
                        ${(id, describedBy) => html`<textarea id=${id} rows="2" value=${form.inputGuidance}
                            aria-describedby=${describedBy} onInput=${(ev) => set({ inputGuidance: ev.currentTarget.value })}></textarea>`}
                    </${Field}>
                    <${ModelPicker} legend=${t("pipeline.inputsModel")} value=${inputsModel} onChange=${setInputsModel}
                        error=${under(error, "inputs")} />
                </${Stage}>
                <${Stage} n="3" id="pl-dedup" title=${t("pipeline.stage.dedup")} hint=${t("pipeline.dedupHint")}>
                    <div class="row">
                        <label class="checkbox"><input type="checkbox" checked=${form.exact}
                            onChange=${(ev) => set({ exact: ev.currentTarget.checked })} />${t("pipeline.exact")}</label>
                        <label class="checkbox"><input type="checkbox" checked=${form.near}
                            onChange=${(ev) => set({ near: ev.currentTarget.checked })} />${t("pipeline.near")}</label>
                    </div>
                    ${form.near && html`<${Field} label=${t("pipeline.threshold")} name="dedup.threshold" error=${error}
                        hint=${t("pipeline.thresholdHint")}>
                        ${(id, describedBy) => html`<input id=${id} type="number" min="0" max="1" step="0.05"
                            value=${form.threshold} aria-describedby=${describedBy}
                            onInput=${(ev) => set({ threshold: ev.currentTarget.value })} />`}
                    </${Field}>`}
                </${Stage}>
                <${Stage} n="4" id="pl-outputs" title=${t("pipeline.stage.outputs")}>
                    <${ModelPicker} legend=${t("pipeline.outputsModel")} value=${outputsModel} onChange=${setOutputsModel}
                        error=${under(error, "outputs")} />
                    <${Field} label=${t("generate.method")} name="outputs.prompt_method" error=${error}>
                        ${(id) => html`<select id=${id} value=${form.method} onChange=${(ev) => set({ method: ev.currentTarget.value })}>
                            ${PROMPT_METHODS.map((m) => html`<option value=${m}>${t(`generate.method.${m}`)}</option>`)}
                        </select>`}
                    </${Field}>
                    <${Field} label=${t("pipeline.guidance")} name="outputs.human_guidance" error=${error}>
                        ${(id, describedBy) => html`<textarea id=${id} rows="2" value=${form.outputGuidance}
                            aria-describedby=${describedBy} onInput=${(ev) => set({ outputGuidance: ev.currentTarget.value })}></textarea>`}
                    </${Field}>
                </${Stage}>
                <${Stage} n="5" id="pl-judge" title=${t("pipeline.stage.judge")} hint=${t("pipeline.judgeHint")}>
                    <label class="checkbox judge-toggle"><input type="checkbox" checked=${form.judge}
                        onChange=${(ev) => set({ judge: ev.currentTarget.checked })} />${t("pipeline.judgeOn")}</label>
                    ${form.judge && html`<${ModelPicker} legend=${t("pipeline.judgeModel")} value=${judgeModel}
                        onChange=${setJudgeModel} error=${under(error, "judge")} />
                    <${Field} label=${t("pipeline.keep")} name="judge.keep" error=${error} hint=${t("pipeline.keepHint")}>
                        ${(id, describedBy) => html`<select id=${id} value=${form.keep} aria-describedby=${describedBy}
                            onChange=${(ev) => set({ keep: ev.currentTarget.value })}>
                            <option value="">${t("pipeline.keepAll")}</option>
                            ${[2, 3, 4, 5].map((n) => html`<option value=${String(n)}>${t("pipeline.keepAtLeast", { n })}</option>`)}
                        </select>`}
                    </${Field}>`}
                </${Stage}>
                <${Stage} n="6" id="pl-budget" title=${t("pipeline.budget")} hint=${t("pipeline.budgetHint")}>
                    <${BudgetFields} value=${form.budget} onChange=${(budget) => set({ budget })} error=${error} />
                </${Stage}>
            </div>
            <aside class="pipeline-side">
                <section class="card estimate-card" aria-labelledby="pl-estimate-title">
                    <h2 id="pl-estimate-title">${t("pipeline.estimate")}</h2>
                    <div aria-live="polite"><${EstimatePanel} estimate=${estimate} stale=${estimate && estimatedFor !== key} /></div>
                    ${error && html`<${ErrorNote} error=${error} />`}
                    <div class="actions pipeline-actions">
                        <button type="submit" class="btn" disabled=${Boolean(busy) || !ready}>
                            ${busy === "estimate" ? html`<span class="spinner" aria-hidden="true"></span> ${t("pipeline.estimating")}`
                                : t("pipeline.estimateBtn")}</button>
                        <button type="button" class="btn primary" disabled=${Boolean(busy) || !ready || !estimate || estimatedFor !== key}
                            onClick=${() => send(false)}>
                            ${busy === "start" ? t("pipeline.starting") : t("pipeline.startBtn")}</button>
                    </div>
                    ${!ready && html`<p class="hint">${t("pipeline.chooseModels")}</p>`}
                    ${estimate && estimatedFor === key && html`<p class="hint">${t("pipeline.startHint", { n: estimate.total?.calls ?? 0 })}</p>`}
                </section>
            </aside>
        </form>
    </section>`;
}
