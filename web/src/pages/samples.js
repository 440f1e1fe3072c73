// Samples: the task's saved samples as a virtual list over GET .../runs (filters in the URL
// query, pages fetched by cursor as the reader nears the end), and the selected sample's
// detail (.../samples/:run) beside it on wide screens or in its place on phones. Reviewing is
// quickest from the keyboard: j/k move, 1-5 rate, p/f pass or fail, e repair, t tag, Delete.
import { api, taskPaths } from "../api.js";
import "../components/rating.js"; // imported by the rows too: named here so it loads alongside
import { confirmDialog, Dialog } from "../components/dialog.js";
import { SampleDetail } from "../components/sample-detail.js";
import { SampleListHeader, SampleRow, slim } from "../components/sample-row.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { VirtualList } from "../components/virtual-list.js";
import { loadTask, useApi } from "../data.js";
import { getLocale, t } from "../i18n.js";
import { html, loadStyle, useCallback, useEffect, useLayoutEffect, useRef, useState } from "../lib.js";
import { navigate, setQuery } from "../router.js";
import { taskHref } from "../routes.js";

const FILTERS = ["topic_path", "session_id", "tag", "rating", "judge_rating", "judged", "source", "dataset_id", "split_name"];
const FIRST_PAGE = 50; // a screenful and more; the rest come as the reader scrolls
const PAGE = 500;
const NARROW = "(max-width: 900px)";

function listKey(path, filters) {
    return `${path}?${new URLSearchParams(filters)}`;
}

// The first page of the list the location names is asked for while this module's styles load,
// and so are the project and task the frame shows (loadTask keeps them for it), so the rows
// are not held up behind them; useRunList takes the page over.
let early = null;
{
    const m = /^\/projects\/([^/]+)\/tasks\/([^/]+)\/samples(\/|$)/.exec(location.pathname);
    if (m) {
        const q = new URLSearchParams(location.search);
        const filters = {};
        for (const k of FILTERS) if (q.get(k)) filters[k] = q.get(k);
        const [p, t] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
        const path = `${taskPaths(p, t).task}/runs`;
        loadTask(p, t).catch(() => {}); // the frame shows its failure
        early = { key: listKey(path, filters), answer: api("GET", path, { query: { ...filters, limit: FIRST_PAGE } }) };
        early.answer.catch(() => {}); // a failure shows when the list takes the answer over
    }
}

// The first Intl formatter of a page takes its time (over 100 ms on a slow machine) while the
// library loads its data; made now, while the requests above are on their way, rather than in
// the first render of the rows (which format counts and dates).
new Intl.NumberFormat(getLocale()).format(1);
new Intl.DateTimeFormat(getLocale(), { dateStyle: "medium" }).format(0);

await loadStyle("samples");

function useMedia(query) {
    const [on, setOn] = useState(() => matchMedia(query).matches);
    useEffect(() => {
        const mq = matchMedia(query);
        const fn = () => setOn(mq.matches);
        mq.addEventListener("change", fn);
        return () => mq.removeEventListener("change", fn);
    }, [query]);
    return on;
}

// The loaded rows of the list for one set of filters, a page at a time. load() fetches the next
// page unless one is on its way or the end was reached.
function useRunList(path, filters) {
    const key = listKey(path, filters);
    const ref = useRef(null);
    const [, bump] = useState(0);
    if (!ref.current || ref.current.key !== key) {
        ref.current?.ctrl.abort();
        ref.current = { key, rows: [], cursor: null, done: false, loading: false, error: null,
                        ctrl: new AbortController() };
    }
    const load = useCallback(() => {
        const s = ref.current;
        if (s.loading || s.done) return;
        s.loading = true;
        s.error = null;
        const limit = s.rows.length ? PAGE : FIRST_PAGE;
        let answer;
        if (!s.rows.length && early?.key === key) answer = early.answer;
        else answer = api("GET", path, { query: { ...filters, limit, cursor: s.cursor }, signal: s.ctrl.signal });
        early = null;
        answer.then(
            (res) => {
                if (ref.current !== s) return;
                s.rows = s.rows.concat(res.runs.map(slim));
                s.cursor = res.next_cursor;
                s.done = !res.next_cursor;
                s.loading = false;
                bump((n) => n + 1);
            },
            (err) => {
                if (ref.current !== s || err.name === "AbortError") return;
                s.loading = false;
                s.error = err;
                bump((n) => n + 1);
            },
        );
        bump((n) => n + 1);
    }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
    useLayoutEffect(() => load(), [load]); // at once, not after the next frame
    useEffect(() => () => ref.current?.ctrl.abort(), []);
    const s = ref.current;
    return {
        rows: s.rows, done: s.done, loading: s.loading, error: s.error, load,
        update(row) {
            const i = s.rows.findIndex((r) => r.id === row.id);
            if (i >= 0) {
                s.rows = s.rows.slice();
                s.rows[i] = row;
                bump((n) => n + 1);
            }
        },
        remove(id) {
            s.rows = s.rows.filter((r) => r.id !== id);
            bump((n) => n + 1);
        },
    };
}

function isTyping(el) {
    if (!el) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(el.type);
}

// The dataset splits as options "split" and "split › part" for the split filter.
function SplitFilter({ paths, datasetId, splitName, onChange }) {
    const splits = useApi((signal) => api("GET", `${paths.finetune}/dataset_splits`, { signal }), [paths.finetune]);
    const list = Array.isArray(splits.data) ? splits.data : [];
    if (!list.length && !datasetId) return null;
    const value = datasetId ? `${datasetId}\n${splitName || ""}` : "";
    return html`<div class="field">
        <label for="sf-split">${t("samples.filter.split")}</label>
        <select id="sf-split" value=${value} onChange=${(ev) => {
            const [d, part] = ev.currentTarget.value.split("\n");
            onChange({ dataset_id: d || null, split_name: part || null });
        }}>
            <option value="">${t("common.all")}</option>
            ${list.map((d) => html`<optgroup label=${d.name}>
                <option value=${`${d.id}\n`}>${t("samples.filter.wholeSplit", { name: d.name })}</option>
                ${(d.splits || []).map((p) => html`<option value=${`${d.id}\n${p.name}`}>${d.name} › ${p.name}</option>`)}
            </optgroup>`)}
            ${datasetId && !list.some((d) => d.id === datasetId) &&
                html`<option value=${value}>${datasetId}${splitName ? ` › ${splitName}` : ""}</option>`}
        </select>
    </div>`;
}

function Filters({ filters, paths, onChange }) {
    const text = (name, label, hint) => html`<div class="field">
        <label for=${`sf-${name}`}>${label}</label>
        <input id=${`sf-${name}`} type="search" value=${filters[name] || ""} placeholder=${hint}
            onChange=${(ev) => onChange({ [name]: ev.currentTarget.value.trim() || null })} />
    </div>`;
    const any = FILTERS.some((k) => filters[k]);
    return html`<form class="toolbar sample-filters" role="search" aria-label=${t("samples.filters")}
            onSubmit=${(ev) => ev.preventDefault()}>
        ${text("topic_path", t("samples.filter.topic"), t("samples.filter.topicHint"))}
        ${text("tag", t("samples.filter.tag"), t("samples.filter.tagHint"))}
        <div class="field">
            <label for="sf-rating">${t("samples.filter.rating")}</label>
            <select id="sf-rating" value=${filters.rating || ""}
                onChange=${(ev) => onChange({ rating: ev.currentTarget.value || null })}>
                <option value="">${t("samples.filter.anyRating")}</option>
                ${[5, 4, 3, 2, 1].map((n) => html`<option value=${String(n)}>${t("samples.filter.atLeast", { n })}</option>`)}
            </select>
        </div>
        <div class="field">
            <label for="sf-judge-rating">${t("judge.filter.rating")}</label>
            <select id="sf-judge-rating" value=${filters.judge_rating || (filters.judged === "true" ? "judged" : "")}
                onChange=${(ev) => {
                    const v = ev.currentTarget.value;
                    onChange(v === "judged" ? { judge_rating: null, judged: "true" } : { judge_rating: v || null, judged: null });
                }}>
                <option value="">${t("judge.filter.any")}</option>
                <option value="judged">${t("judge.filter.judged")}</option>
                ${[5, 4, 3, 2, 1].map((n) => html`<option value=${String(n)}>${t("judge.filter.atLeast", { n })}</option>`)}
            </select>
        </div>
        <div class="field">
            <label for="sf-source">${t("samples.filter.source")}</label>
            <select id="sf-source" value=${filters.source || ""}
                onChange=${(ev) => onChange({ source: ev.currentTarget.value || null })}>
                <option value="">${t("common.all")}</option>
                ${["synthetic", "human", "file_import"].map((s) => html`<option value=${s}>${t(`samples.source.${s}`)}</option>`)}
            </select>
        </div>
        ${text("session_id", t("samples.filter.session"), "")}
        <${SplitFilter} paths=${paths} datasetId=${filters.dataset_id} splitName=${filters.split_name}
            onChange=${onChange} />
        ${any && html`<button type="button" class="btn ghost small clear-filters"
            onClick=${() => onChange(Object.fromEntries(FILTERS.map((k) => [k, null])))}>${t("samples.filter.clear")}</button>`}
    </form>`;
}

const SHORTCUTS = [
    ["j / ↓", "samples.key.next"], ["k / ↑", "samples.key.previous"], ["1 – 5", "samples.key.rate"],
    ["p", "samples.key.pass"], ["f", "samples.key.fail"], ["e", "samples.key.edit"],
    ["t", "samples.key.tag"], ["Delete / #", "samples.key.delete"], ["Esc", "samples.key.close"],
    ["?", "samples.key.help"],
];

function HelpDialog({ onClose }) {
    return html`<${Dialog} title=${t("samples.shortcuts")} onClose=${onClose}>
        <dl class="shortcuts">
            ${SHORTCUTS.map(([k, m]) => html`<div><dt><kbd>${k}</kbd></dt><dd>${t(m)}</dd></div>`)}
        </dl>
        <p class="hint">${t("samples.shortcutsNote")}</p>
        <div class="actions"><button type="button" class="btn primary" onClick=${onClose}>${t("common.close")}</button></div>
    </${Dialog}>`;
}

// Fits the list and detail to the window below the page's head, so each scrolls in its own box.
function useFill(ref, narrow) {
    useLayoutEffect(() => {
        const el = ref.current;
        if (!el) return undefined;
        const fit = () => {
            const top = el.getBoundingClientRect().top + scrollY;
            el.style.height = narrow ? "" : `${Math.max(420, innerHeight - top - 16)}px`;
        };
        fit();
        addEventListener("resize", fit);
        return () => removeEventListener("resize", fit);
    }, [narrow]); // eslint-disable-line react-hooks/exhaustive-deps
}

// The detail of one sample and what can be done to it; keys and buttons call the same actions.
function useSampleActions({ paths, runId, detail, list, neighbour, listHref, runHref }) {
    const [busy, setBusy] = useState(false);
    const [editing, setEditing] = useState(false);
    useEffect(() => setEditing(false), [runId]);
    const run = detail.data && detail.data.id === runId ? detail.data : null;

    const [repairError, setRepairError] = useState(null);
    useEffect(() => setRepairError(null), [runId, editing]);
    async function patch(body, onError) {
        if (!run) return null;
        setBusy(true);
        try {
            const updated = await api("PATCH", `${paths.task}/runs/${encodeURIComponent(run.id)}`, { body });
            detail.setData(updated);
            list.update(slim(updated));
            return updated;
        } catch (err) {
            if (onError) onError(err);
            else toast(err.message, { kind: "error" });
            return null;
        } finally {
            setBusy(false);
        }
    }
    const rating = () => run?.output?.rating || null;
    function rate(value) {
        const cur = rating();
        const reqs = cur?.requirement_ratings || {};
        if (value === null) return patch({ rating: null }); // the requirements' ratings go with it
        return patch({ rating: { type: cur?.type || "five_star", value, requirement_ratings: reqs } });
    }
    function rateRequirement(req, value) {
        const cur = rating();
        const reqs = { ...(cur?.requirement_ratings || {}) };
        if (value === null) delete reqs[req.id];
        else reqs[req.id] = { type: req.type || "five_star", value };
        if (cur?.value === null || cur?.value === undefined) {
            toast(t("samples.overallFirst"), { kind: "error" }); // kept inside the overall rating
            return null;
        }
        return patch({ rating: { type: cur.type, value: cur.value, requirement_ratings: reqs } });
    }
    async function repair(text, instructions) {
        const done = await patch({ repaired_output: text, repair_instructions: instructions.trim() || null },
            setRepairError);
        if (done) {
            setEditing(false);
            toast(t("samples.repairSaved"));
        }
    }
    async function remove() {
        if (!run) return;
        const ok = await confirmDialog({
            title: t("samples.deleteTitle"),
            body: html`<p>${t("samples.deleteBody")}</p><blockquote class="excerpt">${run.input.slice(0, 200)}</blockquote>`,
            confirmLabel: t("samples.delete"),
        });
        if (!ok) return;
        setBusy(true);
        try {
            await api("DELETE", `${paths.task}/runs/${encodeURIComponent(run.id)}`);
            const next = neighbour(1) || neighbour(-1);
            list.remove(run.id);
            toast(t("samples.deleted"));
            navigate(next ? runHref(next.id) : listHref, { replace: true });
        } catch (err) {
            toast(err.message, { kind: "error" });
        } finally {
            setBusy(false);
        }
    }
    return { run, busy, editing, setEditing, rate, rateRequirement, repair, repairError, remove,
             tags: (tags) => patch({ tags }) };
}

export default function SamplesPage({ params, query, task }) {
    useTitle(`${t("samples.title")} · ${task.name}`);
    const paths = taskPaths(params.p, params.t);
    const narrow = useMedia(NARROW);
    const filters = {};
    for (const k of FILTERS) if (query.get(k)) filters[k] = query.get(k);
    const list = useRunList(`${paths.task}/runs`, filters);
    const qs = query.toString() ? `?${query}` : "";
    const listHref = `${taskHref(params.p, params.t, "/samples")}${qs}`;
    const runHref = (id) => `${taskHref(params.p, params.t, `/samples/${encodeURIComponent(id)}`)}${qs}`;
    const runId = params.run || null;
    const index = runId ? list.rows.findIndex((r) => r.id === runId) : -1;
    const neighbour = (d) => (index >= 0 ? list.rows[index + d] : d > 0 ? list.rows[0] : null) || null;
    const detail = useApi((signal) => (runId
        ? api("GET", `${paths.task}/runs/${encodeURIComponent(runId)}`, { signal })
        : Promise.resolve(null)), [paths.task, runId]);
    const act = useSampleActions({ paths, runId, detail, list, neighbour, listHref, runHref });
    const [help, setHelp] = useState(false);
    const tagInput = useRef(null);
    const body = useRef(null);
    useFill(body, narrow);
    const rowHeight = narrow ? 76 : 48;

    function go(d) {
        const next = neighbour(d);
        if (next) navigate(runHref(next.id), { replace: true });
        if (index + d >= list.rows.length - 20) list.load();
    }
    function keyTarget(kind) {
        // the requirement whose rating group holds the focus, else the overall rating
        const box = document.activeElement?.closest?.("fieldset.rating-input");
        const reqs = task.requirements || [];
        const focused = box && reqs.find((r) => box.id === `sd-req-${r.id}`);
        const overall = act.run?.output?.rating?.type || "five_star";
        const fits = (type) => (kind === "star" ? type === "five_star" : type !== "five_star");
        if (focused && fits(focused.type || "five_star")) return focused;
        if (fits(overall)) return "overall";
        return reqs.find((r) => fits(r.type || "five_star")) || null;
    }
    const keys = useRef(null);
    keys.current = (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.altKey || isTyping(ev.target)) return;
        if (document.querySelector("dialog[open]")) return;
        const k = ev.key;
        if (ev.target?.type === "radio" && k.startsWith("Arrow")) return;
        let done = true;
        if (k === "?") setHelp(true);
        else if (k === "j" || k === "ArrowDown") go(1);
        else if (k === "k" || k === "ArrowUp") go(-1);
        else if (k === "Escape" && runId) navigate(listHref);
        else if (!act.run || act.busy) done = false;
        else if (/^[1-5]$/.test(k)) {
            const target = keyTarget("star");
            if (target === "overall") act.rate(Number(k));
            else if (target) act.rateRequirement(target, Number(k));
        } else if (k === "p" || k === "f") {
            const target = keyTarget("pass");
            const v = k === "p" ? 1 : 0;
            if (target === "overall") act.rate(v);
            else if (target) act.rateRequirement(target, v);
        } else if (k === "e") act.setEditing(true);
        else if (k === "t") tagInput.current?.focus();
        else if (k === "Delete" || k === "#") act.remove();
        else done = false;
        if (done) ev.preventDefault();
    };
    useEffect(() => {
        const fn = (ev) => keys.current(ev);
        addEventListener("keydown", fn);
        return () => removeEventListener("keydown", fn);
    }, []);

    const onRange = (first, last) => {
        if (!list.done && !list.error && last >= list.rows.length - 60) list.load();
    };
    const placeholders = list.done || list.error ? 0 : list.rows.length ? 1 : 0;
    const count = list.rows.length + placeholders;
    const hasDetail = Boolean(runId);

    let listPane;
    if (!list.rows.length && list.error) listPane = html`<${ErrorNote} error=${list.error} onRetry=${list.load} />`;
    else if (!list.rows.length && !list.done) listPane = html`<${Loading} />`;
    else if (!list.rows.length)
        listPane = html`<${Empty}>${Object.keys(filters).length ? t("samples.noMatch") : t("samples.none")}</${Empty}>`;
    else
        listPane = html`<${VirtualList} count=${count} rowHeight=${rowHeight} headerHeight=${narrow ? 0 : 40}
            label=${t("samples.listLabel")} class=${narrow ? "samples-list narrow" : "samples-list"}
            header=${narrow ? null : html`<${SampleListHeader} />`} rowcount=${list.done ? count + 1 : -1}
            reveal=${index} onRange=${onRange}
            renderRow=${(i) => html`<${SampleRow} key=${list.rows[i]?.id ?? `more-${i}`} s=${list.rows[i]} index=${i}
                height=${rowHeight} href=${list.rows[i] ? runHref(list.rows[i].id) : null}
                selected=${list.rows[i]?.id === runId} />`} />
            ${list.error && html`<${ErrorNote} error=${list.error} onRetry=${list.load} />`}`;

    let detailPane = null;
    if (hasDetail) {
        if (act.run)
            detailPane = html`<${SampleDetail} run=${act.run} task=${task} busy=${act.busy || detail.loading}
                editing=${act.editing} backHref=${listHref} onRate=${act.rate}
                onRateRequirement=${act.rateRequirement} onTags=${act.tags} onRepair=${act.repair} repairError=${act.repairError}
                onEdit=${act.setEditing} onDelete=${act.remove} tagInput=${tagInput}
                position=${index >= 0 ? { index: index + 1, n: list.rows.length } : null}
                prevHref=${neighbour(-1) ? runHref(neighbour(-1).id) : null}
                nextHref=${neighbour(1) ? runHref(neighbour(1).id) : null} />`;
        else if (detail.error) detailPane = html`<${ErrorNote} error=${detail.error} onRetry=${detail.reload} />`;
        else detailPane = html`<${Loading} />`;
    }

    const loaded = list.done ? t("samples.count", { n: list.rows.length })
        : t("samples.countMore", { n: list.rows.length });
    return html`<section class=${`page samples-page${hasDetail ? " has-detail" : ""}`}>
        <div class="page-head samples-head">
            <div>
                <h1>${t("samples.title")}</h1>
                <p class="muted" aria-live="polite">${list.rows.length || list.done ? loaded : ""}</p>
            </div>
            <div class="actions">
                <button type="button" class="btn small" onClick=${() => setHelp(true)}
                    aria-keyshortcuts="?">${t("samples.shortcuts")} <kbd>?</kbd></button>
            </div>
        </div>
        <${Filters} filters=${filters} paths=${paths} onChange=${(change) => setQuery({ ...filters, ...change })} />
        <div class="samples-body" ref=${body}>
            <div class="samples-list-pane">${listPane}</div>
            ${hasDetail && html`<div class="samples-detail-pane">${detailPane}</div>`}
        </div>
        ${help && html`<${HelpDialog} onClose=${() => setHelp(false)} />`}
    </section>`;
}
