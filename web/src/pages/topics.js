// The Topics tab: the task's topic tree with the samples under each topic, searched and
// explored with the keyboard; the selected topic's panel grows it (subtopics from a model),
// links to generating inputs for it and to its samples, and deletes it. "Add subtopics to every
// leaf" grows the whole tree a few leaves at a time with a progress bar.
import { api, taskPaths } from "../api.js";
import { useApi } from "../data.js";
import { formatNumber, t } from "../i18n.js";
import { html, loadStyle, useMemo, useRef, useState } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";
import { confirmDialog, Dialog } from "../components/dialog.js";
import { Field } from "../components/form.js";
import { modelChosen, ModelPicker, useModelChoice } from "../components/model-picker.js";
import { ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { topicLabel, topicText } from "../components/topic-path.js";
import { indexTree, leavesOf, TopicTree } from "../components/topic-tree.js";

await loadStyle("topics");

const PARALLEL = 3; // leaves grown at once by "every leaf"

function categoriesBody(node, n, model, guidance) {
    return {
        node_path: node.path, num_subtopics: n, provider: model.provider.trim(),
        model_name: model.model_name.trim(), human_guidance: guidance.trim() || null,
    };
}

// The count, model and guidance every "add subtopics" form asks for.
function GrowFields({ count, setCount, model, setModel, guidance, setGuidance, error }) {
    return html`
        <${Field} label=${t("topics.count")} name="num_subtopics" error=${error}
            hint=${t("topics.countHint")}>
            ${(id, describedBy) => html`<input id=${id} type="number" min="1" max="100" required
                aria-describedby=${describedBy} value=${count}
                onInput=${(ev) => setCount(ev.currentTarget.value)} />`}
        </${Field}>
        <${ModelPicker} value=${model} onChange=${setModel} error=${error} />
        <${Field} label=${t("topics.guidance")} name="human_guidance" error=${error}
            hint=${t("topics.guidanceHint")}>
            ${(id, describedBy) => html`<textarea id=${id} aria-describedby=${describedBy} rows="3"
                value=${guidance} onInput=${(ev) => setGuidance(ev.currentTarget.value)}></textarea>`}
        </${Field}>`;
}

function AddDialog({ paths, node, rootLabel, onClose, onDone }) {
    const [count, setCount] = useState("5");
    const [model, setModel] = useModelChoice("topics");
    const [guidance, setGuidance] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function submit(ev) {
        ev.preventDefault();
        setBusy(true);
        setError(null);
        try {
            const run = await api("POST", `${paths.dataset}/generate_categories`, {
                body: categoriesBody(node, Number(count), model, guidance),
            });
            let added = Number(count);
            try {
                added = JSON.parse(run.output.output).subtopics.length;
            } catch {
                /* the count asked for */
            }
            onDone(added);
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    }
    const where = topicLabel(node.path, rootLabel);
    return html`<${Dialog} title=${t("topics.addTitle", { topic: where })} onClose=${onClose}>
        <form onSubmit=${submit} class="grow-form">
            <${GrowFields} count=${count} setCount=${setCount} model=${model} setModel=${setModel}
                guidance=${guidance} setGuidance=${setGuidance} error=${error} />
            ${error && !["num_subtopics", "provider", "model_name", "human_guidance"].includes(error.field)
                && html`<${ErrorNote} error=${error} />`}
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${busy || !modelChosen(model)}>
                    ${busy ? html`<span class="spinner" aria-hidden="true"></span> ${t("topics.generating")}`
                        : t("topics.addSubmit")}</button>
            </div>
        </form>
    </${Dialog}>`;
}

// Runs generate_categories on every leaf, PARALLEL at a time, listing the leaves that fail.
function EveryLeafDialog({ paths, tree, rootLabel, onClose, onDone }) {
    const [count, setCount] = useState("2");
    const [model, setModel] = useModelChoice("topics");
    const [guidance, setGuidance] = useState("");
    const [run, setRun] = useState(null); // {total, done, failures, running}
    const stop = useRef(null);
    const leaves = useMemo(() => leavesOf(tree), [tree]);
    async function start(ev) {
        ev.preventDefault();
        const ctrl = new AbortController();
        stop.current = ctrl;
        const queue = [...leaves];
        const failures = [];
        let done = 0;
        setRun({ total: queue.length, done, failures, running: true });
        const worker = async () => {
            while (queue.length && !ctrl.signal.aborted) {
                const leaf = queue.shift();
                try {
                    await api("POST", `${paths.dataset}/generate_categories`, {
                        body: categoriesBody(leaf, Number(count), model, guidance),
                        signal: ctrl.signal,
                    });
                } catch (err) {
                    if (err.name === "AbortError") return;
                    failures.push({ leaf, error: err });
                }
                done++;
                setRun({ total: leaves.length, done, failures: [...failures], running: true });
            }
        };
        await Promise.all(Array.from({ length: Math.min(PARALLEL, leaves.length) }, worker));
        setRun({ total: leaves.length, done, failures: [...failures], running: false,
            stopped: ctrl.signal.aborted });
        onDone(done - failures.length);
    }
    const close = () => {
        stop.current?.abort();
        onClose();
    };
    const pct = run ? Math.round((100 * run.done) / Math.max(run.total, 1)) : 0;
    return html`<${Dialog} title=${t("topics.everyLeafTitle")} onClose=${close}>
        ${!run && html`<form onSubmit=${start} class="grow-form">
            <p class="muted">${t("topics.everyLeafText", { n: leaves.length })}</p>
            <${GrowFields} count=${count} setCount=${setCount} model=${model} setModel=${setModel}
                guidance=${guidance} setGuidance=${setGuidance} />
            <div class="actions">
                <button type="button" class="btn" onClick=${close}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${!modelChosen(model) ||
                    !(Number(count) >= 1)}>${t("topics.everyLeafStart", { n: leaves.length })}</button>
            </div>
        </form>`}
        ${run && html`<div class="leaf-run">
            <p id="leaf-progress-label">${t("topics.leafProgress", { done: run.done, n: run.total })}</p>
            <div class="progress" role="progressbar" aria-labelledby="leaf-progress-label"
                aria-valuemin="0" aria-valuemax=${run.total} aria-valuenow=${run.done}>
                <span style=${`width:${pct}%`}></span>
            </div>
            ${!run.running && html`<p role="status" class=${run.failures.length ? "leaf-summary warn" : "leaf-summary ok"}>
                ${run.stopped ? t("topics.leafStopped", { n: run.done - run.failures.length })
                    : t("topics.leafDone", { n: run.done - run.failures.length })}</p>`}
            ${run.failures.length > 0 && html`<div class="leaf-failures">
                <h3>${t("topics.leafFailed", { n: run.failures.length })}</h3>
                <ul>${run.failures.map((f) => html`<li key=${f.leaf.key}>
                    <strong>${topicLabel(f.leaf.path, rootLabel)}</strong>
                    <span class="detail">${f.error.message}</span></li>`)}</ul>
            </div>`}
            <div class="actions">
                ${run.running
                    ? html`<button type="button" class="btn danger" onClick=${() => stop.current.abort()}>
                        ${t("topics.stop")}</button>`
                    : html`<button type="button" class="btn primary" onClick=${close}>${t("common.close")}</button>`}
            </div>
        </div>`}
    </${Dialog}>`;
}

async function deleteTopic(paths, node, rootLabel) {
    const path = `${paths.dataset}/topics`;
    const query = { node_path: JSON.stringify(node.path) };
    const name = topicLabel(node.path, rootLabel);
    if (node.size > 0 && node.count === 0) {
        const ok = await confirmDialog({
            title: t("topics.deleteTitle", { topic: name }),
            body: t("topics.deleteBody", { n: node.size, samples: 0 }),
        });
        if (!ok) return false;
    }
    try {
        await api("DELETE", path, { query });
        return true;
    } catch (err) {
        if (err.status !== 409) throw err;
        const m = /^(\d+) samples/.exec(err.message); // the server's count, current
        const samples = m ? Number(m[1]) : node.count;
        const ok = await confirmDialog({
            title: t("topics.deleteTitle", { topic: name }),
            body: html`<p>${node.size ? t("topics.deleteBody", { n: node.size, samples })
                : t("topics.deleteLeaf", { n: samples })}</p>
                <p class="delete-warning">${t("topics.deleteSamples", { n: samples })}</p>`,
            confirmLabel: t("topics.deleteWithSamples", { n: samples }),
        });
        if (!ok) return false;
        await api("DELETE", path, { query: { ...query, samples: "delete" } });
        return true;
    }
}

function NodePanel({ node, task, params, rootLabel, onAdd, onDelete }) {
    const base = taskHref(params.p, params.t);
    const text = topicText(node.path);
    const q = (k) => (text ? `?${k}=${encodeURIComponent(text)}` : "");
    const title = node.parent ? node.name : task.name;
    return html`<section class="card node-panel" aria-labelledby="node-title">
        <p class="node-kicker">${node.parent ? t("topics.topic") : t("topics.wholeTask")}</p>
        <h2 id="node-title">${title}</h2>
        ${node.path.length > 1 && html`<p class="node-path muted">${topicLabel(node.path.slice(0, -1), rootLabel)}</p>`}
        <dl class="node-stats">
            <div><dt>${t("topics.statSamples")}</dt><dd>${formatNumber(node.count)}</dd></div>
            <div><dt>${t("topics.statChildren")}</dt><dd>${formatNumber(node.children.length)}</dd></div>
            <div><dt>${t("topics.statAll")}</dt><dd>${formatNumber(node.size)}</dd></div>
        </dl>
        <div class="node-actions">
            <button type="button" class="btn primary" onClick=${onAdd}>${t("topics.add")}</button>
            <${Link} class="btn" href=${`${base}/generate${q("topic")}`}>${t("topics.generateHere")}</${Link}>
            <${Link} class="btn" href=${`${base}/samples${q("topic_path")}`}>${t("topics.viewSamples", { n: node.count })}</${Link}>
            ${node.parent && html`<button type="button" class="btn ghost danger-text" onClick=${onDelete}>
                ${t("topics.delete")}</button>`}
        </div>
        ${node.children.length === 0 && !node.parent && html`<p class="node-hint">${t("topics.emptyHint")}</p>`}
    </section>`;
}

export default function TopicsPage({ params, task }) {
    useTitle(`${t("tabs.topics")} · ${task.name}`);
    const paths = taskPaths(params.p, params.t);
    const res = useApi((signal) => api("GET", `${paths.dataset}/topics`, { signal }), [paths.dataset]);
    const tree = useMemo(() => (res.data ? indexTree(res.data) : null), [res.data]);
    const [query, setQuery] = useState("");
    const [expanded, setExpanded] = useState(() => new Set([JSON.stringify([])]));
    const [selectedKey, setSelectedKey] = useState(JSON.stringify([]));
    const [dialog, setDialog] = useState(null); // "add" | "leaves"
    const rootLabel = task.name;

    if (!tree) {
        if (res.error) return html`<${ErrorNote} error=${res.error} onRetry=${res.reload} />`;
        return html`<${Loading} />`;
    }
    const selected = tree.nodes.find((n) => n.key === selectedKey) || tree.root;
    const open = (node) => setExpanded((s) => new Set([...s, node.key]));
    async function onDelete() {
        try {
            if (await deleteTopic(paths, selected, rootLabel)) {
                toast(t("topics.deleted", { topic: selected.name }));
                setSelectedKey(selected.parent.key);
                res.reload();
            }
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }
    const leaves = tree.root.children.length ? leavesOf(tree).length : 0;
    const total = tree.nodes.length - 1;
    const shown = query.trim() ? tree.nodes.filter((n) => n.parent &&
        n.name.toLocaleLowerCase().includes(query.trim().toLocaleLowerCase())).length : null;
    return html`<section class="page topics-page">
        <div class="page-head">
            <div>
                <h1>${t("tabs.topics")}</h1>
                <p class="muted">${t("topics.summary", { n: total })} · ${t("tree.samples", { n: tree.root.count })}</p>
            </div>
            <div class="actions">
                ${leaves > 0 && html`<button type="button" class="btn" onClick=${() => setDialog("leaves")}>
                    ${t("topics.everyLeaf", { n: leaves })}</button>`}
                <button type="button" class="btn primary" onClick=${() => { setSelectedKey(tree.root.key); setDialog("add"); }}>
                    ${t("topics.addTop")}</button>
            </div>
        </div>
        <div class="topics-layout">
            <div class="card tree-card">
                <div class="tree-search">
                    <label for="topic-search" class="visually-hidden">${t("topics.search")}</label>
                    <input id="topic-search" type="search" placeholder=${t("topics.searchPlaceholder")}
                        value=${query} onInput=${(ev) => setQuery(ev.currentTarget.value)} />
                    ${shown !== null && html`<p class="search-note" role="status">${t("topics.matches", { n: shown })}</p>`}
                </div>
                ${res.loading && html`<div class="tree-busy"><${Loading} /></div>`}
                <${TopicTree} tree=${tree} query=${query} selectedKey=${selected.key}
                    onSelect=${(n) => setSelectedKey(n.key)} label=${task.name}
                    expanded=${expanded} setExpanded=${setExpanded} />
            </div>
            <${NodePanel} node=${selected} task=${task} params=${params} rootLabel=${rootLabel}
                onAdd=${() => setDialog("add")} onDelete=${onDelete} />
        </div>
        ${dialog === "add" && html`<${AddDialog} paths=${paths} node=${selected} rootLabel=${task.name}
            onClose=${() => setDialog(null)}
            onDone=${(n) => {
                setDialog(null);
                toast(t("topics.added", { n, topic: selected.parent ? selected.name : task.name }));
                open(selected);
                res.reload();
            }} />`}
        ${dialog === "leaves" && html`<${EveryLeafDialog} paths=${paths} tree=${tree} rootLabel=${task.name}
            onClose=${() => { setDialog(null); res.reload(); }}
            onDone=${() => res.reload()} />`}
    </section>`;
}
