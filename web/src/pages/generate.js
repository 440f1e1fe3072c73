// The Generate tab: inputs for a topic (count, guidance, the input model) come back as
// editable cards; with the output model and prompt method chosen, one card, the selected ones
// or all are saved (save_samples_batch?detailed=true), each card then showing its sample or its
// own failure. Every sample saved during one visit of the page belongs to one session.
import { api, taskPaths } from "../api.js";
import { t } from "../i18n.js";
import { html, loadStyle, useMemo, useRef, useState } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";
import { Dialog } from "../components/dialog.js";
import { Field } from "../components/form.js";
import { modelChosen, ModelPicker, useModelChoice } from "../components/model-picker.js";
import { ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { parseTopicText, topicLabel } from "../components/topic-path.js";
import { indexTree, TopicTree } from "../components/topic-tree.js";
import { useApi } from "../data.js";

await loadStyle("generate");

export const PROMPT_METHODS = [
    "simple_prompt_builder",
    "few_shot_prompt_builder",
    "multi_shot_prompt_builder",
    "repairs_prompt_builder",
    "simple_chain_of_thought_prompt_builder",
    "few_shot_chain_of_thought_prompt_builder",
    "multi_shot_chain_of_thought_prompt_builder",
];
const METHOD_STORE = "hetu.promptMethod";

function newSessionId() {
    if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

let cardSeq = 0;
function newCard(text, topicPath, model) {
    return {
        id: ++cardSeq, text, topicPath, selected: false, status: "draft", error: null, run: null,
        inputProvider: model?.provider || null, inputModel: model?.model_name || null,
    };
}

function showInput(v) {
    return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

// "all 3 samples failed: [0] reason; [1] reason; ..." -> {0: "reason", 1: "reason"}
function reasonsByIndex(message) {
    const out = {};
    for (const m of message.matchAll(/\[(\d+)\] ([^;]*);/g)) out[Number(m[1])] = m[2];
    return out;
}

function TopicDialog({ paths, taskName, current, onPick, onClose }) {
    const res = useApi((signal) => api("GET", `${paths.dataset}/topics`, { signal }), [paths.dataset]);
    const tree = useMemo(() => (res.data ? indexTree(res.data) : null), [res.data]);
    const [query, setQuery] = useState("");
    const [picked, setPicked] = useState(JSON.stringify(current));
    const [expanded, setExpanded] = useState(() => {
        const open = new Set([JSON.stringify([])]);
        for (let i = 1; i < current.length; i++) open.add(JSON.stringify(current.slice(0, i)));
        return open;
    });
    const node = tree?.nodes.find((n) => n.key === picked);
    return html`<${Dialog} title=${t("generate.chooseTopic")} onClose=${onClose}>
        ${res.error && html`<${ErrorNote} error=${res.error} onRetry=${res.reload} />`}
        ${!tree && !res.error && html`<${Loading} />`}
        ${tree && html`<div class="topic-dialog">
            <label for="gen-topic-search" class="visually-hidden">${t("generate.searchTopics")}</label>
            <input id="gen-topic-search" type="search" placeholder=${t("generate.searchTopics")}
                value=${query} onInput=${(ev) => setQuery(ev.currentTarget.value)} />
            <${TopicTree} tree=${tree} query=${query} selectedKey=${picked} label=${taskName}
                onSelect=${(n) => setPicked(n.key)} expanded=${expanded} setExpanded=${setExpanded} />
        </div>`}
        <div class="actions">
            <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
            <button type="button" class="btn primary" disabled=${!node}
                onClick=${() => onPick(node.path)}>${t("generate.useTopic")}</button>
        </div>
    </${Dialog}>`;
}

function InputCard({ card, index, base, onChange, onRemove, onSave, busy }) {
    const label = t("generate.inputN", { n: index + 1 });
    const id = `card-${card.id}`;
    const saved = card.status === "saved";
    return html`<li class=${`input-card ${card.status}`} aria-labelledby=${`${id}-title`}>
        <div class="input-card-head">
            <label class="checkbox">
                <input type="checkbox" checked=${card.selected} disabled=${saved}
                    aria-label=${t("generate.select", { n: index + 1 })}
                    onChange=${(ev) => onChange({ selected: ev.currentTarget.checked })} />
                <span id=${`${id}-title`} class="input-card-title">${label}</span>
            </label>
            ${card.inputModel ? html`<span class="tag">${card.inputModel}</span>`
                : html`<span class="tag hand">${t("generate.byHand")}</span>`}
            ${card.status === "saving" && html`<span class="badge info">${t("common.saving")}</span>`}
            ${saved && html`<span class="badge ok">${t("common.saved")}</span>`}
            ${card.status === "failed" && html`<span class="badge danger">${t("generate.failed")}</span>`}
        </div>
        <label for=${`${id}-text`} class="visually-hidden">${t("generate.inputText", { n: index + 1 })}</label>
        <textarea id=${`${id}-text`} value=${card.text} readonly=${saved || card.status === "saving"}
            rows=${Math.min(8, Math.max(3, Math.ceil(card.text.length / 70)))}
            onInput=${(ev) => onChange({ text: ev.currentTarget.value,
                status: card.status === "failed" ? "draft" : card.status, error: null })}></textarea>
        ${card.status === "failed" && html`<p class="card-error" role="alert" id=${`${id}-err`}>
            ${card.error}</p>`}
        <div class="input-card-foot">
            ${saved
                ? html`<${Link} href=${`${base}/samples/${encodeURIComponent(card.run.id)}`}>
                    ${t("generate.viewSample")}</${Link}>`
                : html`<button type="button" class="btn small" disabled=${busy || !card.text.trim()}
                    aria-describedby=${`${id}-title`} onClick=${onSave}>${t("common.save")}</button>`}
            <button type="button" class="btn small ghost" aria-describedby=${`${id}-title`}
                disabled=${card.status === "saving"} onClick=${onRemove}>${t("generate.remove")}</button>
        </div>
    </li>`;
}

export default function GeneratePage({ params, query, task }) {
    useTitle(`${t("tabs.generate")} · ${task.name}`);
    const paths = taskPaths(params.p, params.t);
    const base = taskHref(params.p, params.t);
    const session = useRef(newSessionId());
    const [topic, setTopic] = useState(() => parseTopicText(query.get("topic") || ""));
    const [choosing, setChoosing] = useState(false);
    const [count, setCount] = useState("8");
    const [guidance, setGuidance] = useState("");
    const [inputModel, setInputModel] = useModelChoice("input");
    const [outputModel, setOutputModel] = useModelChoice("output");
    const [method, setMethodState] = useState(() => localStorage.getItem(METHOD_STORE) ||
        PROMPT_METHODS[0]);
    const [cards, setCards] = useState([]);
    const [generating, setGenerating] = useState(false);
    const [genError, setGenError] = useState(null);
    const [saving, setSaving] = useState(false);

    const setMethod = (m) => {
        setMethodState(m);
        localStorage.setItem(METHOD_STORE, m);
    };
    const patch = (id, change) => setCards((list) => list.map((c) => (c.id === id ? { ...c, ...change } : c)));

    async function generate(ev) {
        ev.preventDefault();
        setGenerating(true);
        setGenError(null);
        try {
            const run = await api("POST", `${paths.dataset}/generate_samples`, {
                body: {
                    topic, num_samples: Number(count), provider: inputModel.provider.trim(),
                    model_name: inputModel.model_name.trim(), human_guidance: guidance.trim() || null,
                },
            });
            const inputs = JSON.parse(run.output.output).generated_samples;
            setCards((list) => [...list, ...inputs.map((v) => newCard(showInput(v), topic, inputModel))]);
            toast(t("generate.generated", { n: inputs.length }));
        } catch (err) {
            setGenError(err);
        }
        setGenerating(false);
    }

    function sampleBody(c) {
        return {
            input: c.text, topic_path: c.topicPath,
            input_provider: c.inputProvider, input_model_name: c.inputModel,
            output_provider: outputModel.provider.trim(), output_model_name: outputModel.model_name.trim(),
            prompt_method: method, human_guidance: guidance.trim() || null,
        };
    }

    async function saveOne(card) {
        patch(card.id, { status: "saving", error: null });
        try {
            const run = await api("POST", `${paths.dataset}/save_sample`, {
                query: { session_id: session.current }, body: sampleBody(card),
            });
            patch(card.id, { status: "saved", run, selected: false });
        } catch (err) {
            patch(card.id, { status: "failed", error: err.message });
        }
    }

    async function saveMany(list) {
        if (!list.length) return;
        setSaving(true);
        const ids = list.map((c) => c.id);
        setCards((all) => all.map((c) => (ids.includes(c.id) ? { ...c, status: "saving", error: null } : c)));
        const outcome = new Map(); // card id -> {run} | {error}
        try {
            const r = await api("POST", `${paths.dataset}/save_samples_batch`, {
                query: { detailed: "true" },
                body: { samples: list.map(sampleBody), session_id: session.current },
            });
            const failed = new Map(r.errors.map((e) => [e.index, e.detail]));
            let next = 0;
            list.forEach((c, i) => outcome.set(c.id, failed.has(i) ? { error: failed.get(i) }
                : { run: r.runs[next++] }));
        } catch (err) {
            // every sample failed (the first reasons are named), or the request was refused
            const reasons = reasonsByIndex(err.message);
            const bad = /^samples\[(\d+)\]/.exec(err.field || "");
            list.forEach((c, i) => {
                if (bad) outcome.set(c.id, Number(bad[1]) === i ? { error: err.message } : { draft: true });
                else outcome.set(c.id, { error: reasons[i] ?? err.message });
            });
        }
        setCards((all) => all.map((c) => {
            const o = outcome.get(c.id);
            if (!o) return c;
            if (o.run) return { ...c, status: "saved", run: o.run, selected: false };
            if (o.draft) return { ...c, status: "draft" };
            return { ...c, status: "failed", error: o.error };
        }));
        const ok = [...outcome.values()].filter((o) => o.run).length;
        const bad = [...outcome.values()].filter((o) => o.error).length;
        if (bad) toast(t("generate.savedSome", { n: ok, failed: bad }), { kind: "error" });
        else toast(t("generate.savedAll", { n: ok }));
        setSaving(false);
    }

    const open = cards.filter((c) => c.status !== "saved");
    const selected = open.filter((c) => c.selected);
    const outputReady = modelChosen(outputModel);
    const allSelected = open.length > 0 && selected.length === open.length;
    return html`<section class="page generate-page">
        <div class="page-head">
            <div>
                <h1>${t("tabs.generate")}</h1>
                <p class="muted">${t("generate.intro")}</p>
            </div>
        </div>
        <div class="gen-layout">
            <div class="gen-side">
                <form class="card gen-form" onSubmit=${generate} aria-labelledby="gen-inputs-title">
                    <h2 id="gen-inputs-title"><span class="step" aria-hidden="true">1</span>${t("generate.inputsTitle")}</h2>
                    <div class="field">
                        <span class="label" id="gen-topic-label">${t("generate.topic")}</span>
                        <div class="topic-choice">
                            <span class="topic-crumb" aria-labelledby="gen-topic-label">${topicLabel(topic, task.name)}</span>
                            <button type="button" class="btn small" onClick=${() => setChoosing(true)}>
                                ${t("generate.changeTopic")}</button>
                        </div>
                    </div>
                    <${Field} label=${t("generate.count")} name="num_samples" error=${genError} hint=${t("generate.countHint")}>
                        ${(id, describedBy) => html`<input id=${id} type="number" min="1" max="100" value=${count}
                            aria-describedby=${describedBy} onInput=${(ev) => setCount(ev.currentTarget.value)} />`}
                    </${Field}>
                    <${Field} label=${t("generate.guidance")} name="human_guidance" error=${genError}
                        hint=${t("generate.guidanceHint")}>
                        ${(id, describedBy) => html`<textarea id=${id} rows="3" value=${guidance}
                            aria-describedby=${describedBy} onInput=${(ev) => setGuidance(ev.currentTarget.value)}></textarea>`}
                    </${Field}>
                    <${ModelPicker} legend=${t("generate.inputModel")} value=${inputModel} onChange=${setInputModel}
                        error=${genError} />
                    ${genError && !["num_samples", "human_guidance", "provider", "model_name"].includes(genError.field) &&
                        html`<${ErrorNote} error=${genError} />`}
                    <button type="submit" class="btn primary wide" disabled=${generating || !modelChosen(inputModel)}>
                        ${generating ? html`<span class="spinner" aria-hidden="true"></span> ${t("generate.generating")}`
                            : t("generate.generate")}</button>
                </form>
                <section class="card gen-output" aria-labelledby="gen-output-title">
                    <h2 id="gen-output-title"><span class="step" aria-hidden="true">2</span>${t("generate.outputTitle")}</h2>
                    <${ModelPicker} legend=${t("generate.outputModel")} value=${outputModel} onChange=${setOutputModel} />
                    <${Field} label=${t("generate.method")} name="prompt_method">
                        ${(id) => html`<select id=${id} value=${method} onChange=${(ev) => setMethod(ev.currentTarget.value)}>
                            ${PROMPT_METHODS.map((m) => html`<option value=${m}>${t(`generate.method.${m}`)}</option>`)}
                        </select>`}
                    </${Field}>
                </section>
            </div>
            <section class="gen-cards" aria-labelledby="gen-cards-title">
                <div class="gen-cards-head">
                    <h2 id="gen-cards-title"><span class="step" aria-hidden="true">3</span>${t("generate.cardsTitle", { n: cards.length })}</h2>
                    <div class="gen-cards-actions">
                        ${open.length > 0 && html`<label class="checkbox">
                            <input type="checkbox" checked=${allSelected}
                                onChange=${(ev) => { const on = ev.currentTarget.checked;
                                    setCards((list) => list.map((c) => (c.status === "saved" ? c : { ...c, selected: on }))); }} />
                            ${t("generate.selectAll")}</label>`}
                        <button type="button" class="btn" onClick=${() => setCards((list) => [...list, newCard("", topic, null)])}>
                            ${t("generate.addCard")}</button>
                        <button type="button" class="btn" disabled=${saving || !selected.length || !outputReady}
                            onClick=${() => saveMany(selected.filter((c) => c.text.trim()))}>
                            ${t("generate.saveSelected", { n: selected.length })}</button>
                        <button type="button" class="btn primary" disabled=${saving || !open.length || !outputReady}
                            onClick=${() => saveMany(open.filter((c) => c.text.trim()))}>
                            ${saving ? t("common.saving") : t("generate.saveAll", { n: open.length })}</button>
                    </div>
                </div>
                ${cards.length === 0
                    ? html`<div class="empty gen-empty"><p>${t("generate.empty")}</p></div>`
                    : html`<ol class="input-cards">${cards.map((c, i) => html`<${InputCard} key=${c.id} card=${c}
                        index=${i} base=${base} busy=${saving || !outputReady}
                        onChange=${(change) => patch(c.id, change)}
                        onRemove=${() => setCards((list) => list.filter((x) => x.id !== c.id))}
                        onSave=${() => saveOne(c)} />`)}</ol>`}
            </section>
        </div>
        ${choosing && html`<${TopicDialog} paths=${paths} taskName=${task.name} current=${topic}
            onClose=${() => setChoosing(false)}
            onPick=${(p) => { setTopic(p); setChoosing(false); }} />`}
    </section>`;
}

