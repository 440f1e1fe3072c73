// A task's statistics (GET .../stats): headline figures, charts of samples per topic (drilling
// into a topic's children), of ratings and of tokens and cost by output model, and compact
// tables of the counts by session, source, prompt method, tag and input model; how far the LLM
// judge agrees with people (GET .../judge/agreement), and a dialog that starts a judge job.
import { api, taskPaths } from "../api.js";
import { BarChart, loadCharts, palette } from "../components/chart.js";
import { AgreementTable, JudgeDialog } from "../components/judge.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { useApi } from "../data.js";
import { formatCost, formatNumber, t, useLocale } from "../i18n.js";
import { html, loadStyle, useMemo, useState } from "../lib.js";
import { Link, navigate } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("stats");
loadCharts().catch(() => {}); // the chart library loads while the numbers do; a failure shows per chart

const TOPIC_BARS = 16; // bars in the topic chart; the smaller rest share one
const MODEL_BARS = 12; // bars in a chart by model
const TABLE_ROWS = 8; // rows a count table shows before "Show all"

const percent = (x) => formatNumber(x, { style: "percent", maximumFractionDigits: 1 });

function Tile({ label, value, sub, hint, dim }) {
    return html`<div class="tile">
        <dt>${label}</dt>
        <dd class=${dim ? "tile-value dim" : "tile-value"}>${value}</dd>
        ${sub && html`<dd class="tile-sub">${sub}</dd>`}
        ${hint && html`<dd class="tile-sub">${hint}</dd>`}
    </div>`;
}

function lengths(l) {
    if (!l) return t("stats.notAvailable");
    return t("stats.lenValue", { p50: l.p50, p90: l.p90, p99: l.p99 });
}

function Figures({ s }) {
    const rated = s.total - s.ratings.unrated;
    const u = s.usage;
    return html`<section aria-labelledby="stats-figures">
        <h2 id="stats-figures" class="visually-hidden">${t("stats.figures")}</h2>
        <dl class="tiles">
            <${Tile} label=${t("stats.total")} value=${formatNumber(s.total)} />
            <${Tile} label=${t("stats.rated")} value=${percent(s.total ? rated / s.total : 0)}
                sub=${t("stats.ratedOf", { n: rated })} />
            <${Tile} label=${t("stats.tokens")} value=${formatNumber(u.total_tokens)}
                sub=${t("stats.tokensSplit", { input: u.input_tokens, output: u.output_tokens })} />
            <${Tile} label=${t("stats.cost")} value=${formatCost(u.cost)}
                sub=${u.cost === null ? t("stats.costNone") : t("stats.costOf", { n: u.samples })} />
            <${Tile} label=${t("stats.exactDup")}
                value=${s.exact_duplicate_share === null ? t("stats.notAvailable") : percent(s.exact_duplicate_share)}
                sub=${t("stats.exactDupOf", { n: s.exact_duplicates })} />
            <${Tile} label=${t("stats.nearDup")} dim=${s.near_duplicate_share === null}
                value=${s.near_duplicate_share === null ? t("stats.nearDupNone") : percent(s.near_duplicate_share)}
                sub=${s.near_duplicate_share === null ? null : t("stats.nearDupOf")} />
            <${Tile} label=${t("stats.inputLen")} value=${lengths(s.input_chars)} sub=${t("stats.lenHint")} />
            <${Tile} label=${t("stats.outputLen")} value=${lengths(s.output_chars)} sub=${t("stats.lenHint")} />
        </dl>
    </section>`;
}

// The node at path (a list of names) in the tree, or the deepest one that exists.
function nodeAt(tree, path) {
    let node = tree;
    const found = [];
    for (const name of path) {
        const next = node.children.find((c) => c.name === name);
        if (!next) break;
        node = next;
        found.push(name);
    }
    return { node, path: found };
}

// The bars of a node: its children, largest first, the smallest past TOPIC_BARS in one bar, and
// the samples that sit on the node itself (at the root: those without a topic).
function topicBars(node, atRoot) {
    const kids = [...node.children].sort((a, b) => b.sample_count - a.sample_count);
    const bars = kids.slice(0, kids.length > TOPIC_BARS ? TOPIC_BARS - 1 : TOPIC_BARS)
        .map((c) => ({ label: c.name, count: c.sample_count, node: c }));
    const rest = kids.slice(bars.length);
    if (rest.length)
        bars.push({
            label: t("stats.otherTopics", { n: rest.length }),
            count: rest.reduce((n, c) => n + c.sample_count, 0),
        });
    const own = node.sample_count - kids.reduce((n, c) => n + c.sample_count, 0);
    if (own > 0) bars.push({ label: t(atRoot ? "stats.noTopic" : "stats.here"), count: own });
    return { bars, kids };
}

function TopicChart({ tree }) {
    const [want, setWant] = useState([]);
    const pal = palette();
    if (!tree) return html`<p class="muted">${t("stats.topicsTooBig")}</p>`;
    if (!tree.children.length) return html`<p class="muted">${t("stats.topicsNone")}</p>`;
    const { node, path } = nodeAt(tree, want);
    const { bars, kids } = topicBars(node, path.length === 0);
    const open = (c) => c.children.length > 0;
    const title = path.length ? `${t("stats.topics")}: ${path.join(" › ")}` : t("stats.topics");
    return html`<div class="topic-drill">
        <nav class="topic-path" aria-label=${t("stats.topicPath")}>
            <ol>
                <li>${path.length
                    ? html`<button type="button" class="linkish" onClick=${() => setWant([])}>${t("stats.allTopics")}</button>`
                    : html`<span aria-current="location">${t("stats.allTopics")}</span>`}</li>
                ${path.map((name, i) => html`<li>${i === path.length - 1
                    ? html`<span aria-current="location">${name}</span>`
                    : html`<button type="button" class="linkish"
                        onClick=${() => setWant(path.slice(0, i + 1))}>${name}</button>`}</li>`)}
            </ol>
            ${path.length > 0 && html`<button type="button" class="btn small"
                onClick=${() => setWant(path.slice(0, -1))}>${t("stats.up")}</button>`}
        </nav>
        <div class="topic-body">
            <div class="topic-chart">
                <${BarChart} title=${title} horizontal
                    labels=${bars.map((b) => b.label)}
                    series=${[{ label: t("stats.samples"), values: bars.map((b) => b.count), color: pal.accent }]}
                    pickable=${(i) => Boolean(bars[i]?.node && open(bars[i].node))}
                    onPick=${(i) => setWant([...path, bars[i].node.name])} />
            </div>
            <div class="topic-side">
                <h3 id="topic-list-h">${t("stats.topicList")}</h3>
                ${kids.some(open) && html`<p class="hint">${t("stats.topicsHint")}</p>`}
                <ul class="topic-list" aria-labelledby="topic-list-h">
                    ${kids.map((c) => html`<li key=${c.name}>
                        ${open(c)
                            ? html`<button type="button" class="topic-btn"
                                onClick=${() => setWant([...path, c.name])}>
                                <span class="name">${c.name}</span><span class="visually-hidden">, </span>
                                <span class="count">${formatNumber(c.sample_count)}</span>
                            </button>`
                            : html`<span class="topic-leaf">
                                <span class="name">${c.name}</span><span class="visually-hidden">, </span>
                                <span class="count">${formatNumber(c.sample_count)}</span>
                            </span>`}
                    </li>`)}
                </ul>
            </div>
        </div>
    </div>`;
}

function RatingChart({ r }) {
    const pal = palette();
    const rows = [
        ...[1, 2, 3, 4, 5].map((k) => [t("stats.star", { n: k }), r.five_star[String(k)], pal.accent]),
        [t("stats.pass"), r.pass_fail.pass, pal.ok],
        [t("stats.fail"), r.pass_fail.fail, pal.warn],
        [t("stats.critical"), r.pass_fail.critical, pal.danger],
        ...(r.other ? [[t("stats.otherRating"), r.other, pal.muted]] : []),
        [t("stats.unrated"), r.unrated, pal.grey],
    ];
    return html`<${BarChart} title=${t("stats.ratings")} labels=${rows.map((x) => x[0])}
        colors=${rows.map((x) => x[2])} height=${300}
        series=${[{ label: t("stats.samples"), values: rows.map((x) => x[1]) }]} />`;
}

// The models with some of `field`, most first; past MODEL_BARS the rest share one bar.
function modelBars(models, field, fields) {
    const some = models.filter((m) => m[field]).sort((a, b) => b[field] - a[field]);
    const bars = some.slice(0, some.length > MODEL_BARS ? MODEL_BARS - 1 : MODEL_BARS)
        .map((m) => ({ ...m, label: m.key ?? t("stats.noModel") }));
    const rest = some.slice(bars.length);
    if (rest.length) {
        const sum = { label: t("stats.otherModels", { n: rest.length }) };
        for (const f of fields) sum[f] = rest.reduce((n, m) => n + (m[f] || 0), 0);
        bars.push(sum);
    }
    return bars;
}

function ModelCharts({ models }) {
    const pal = palette();
    const tokens = modelBars(models, "total_tokens", ["input_tokens", "output_tokens", "total_tokens"]);
    const cost = modelBars(models, "cost", ["cost"]);
    return html`<section class="card chart-card" aria-labelledby="stats-models">
        <h2 id="stats-models">${t("stats.byModel")}</h2>
        <h3>${t("stats.tokens")}</h3>
        ${tokens.length
            ? html`<ul class="legend" aria-hidden="true">
                    <li><span class="swatch input"></span>${t("stats.inputTokens")}</li>
                    <li><span class="swatch output"></span>${t("stats.outputTokens")}</li>
                </ul>
                <${BarChart} title=${t("stats.tokensByModel")} horizontal stacked labels=${tokens.map((m) => m.label)}
                    series=${[
                        { label: t("stats.inputTokens"), values: tokens.map((m) => m.input_tokens), color: pal.accent },
                        { label: t("stats.outputTokens"), values: tokens.map((m) => m.output_tokens), color: pal.accentSoft },
                    ]} />`
            : html`<p class="muted">${t("stats.noTokens")}</p>`}
        <h3>${t("stats.cost")}</h3>
        ${cost.length
            ? html`<${BarChart} title=${t("stats.costByModel")} horizontal labels=${cost.map((m) => m.label)}
                format=${formatCost}
                series=${[{ label: t("stats.cost"), values: cost.map((m) => m.cost), color: pal.ok }]} />`
            : html`<p class="muted">${t("stats.noCost")}</p>`}
    </section>`;
}

function CountTable({ id, title, rows, total, name = (k) => k }) {
    const [all, setAll] = useState(false);
    const shown = all ? rows : rows.slice(0, TABLE_ROWS);
    return html`<section class="card count-card" aria-labelledby=${id}>
        <h3 id=${id}>${title}</h3>
        ${rows.length === 0
            ? html`<p class="muted">${t("stats.nothing")}</p>`
            : html`<table class="data compact">
                <thead><tr>
                    <th scope="col">${t("stats.key")}</th>
                    <th scope="col" class="num">${t("stats.count")}</th>
                    <th scope="col" class="num">${t("stats.share")}</th>
                </tr></thead>
                <tbody>${shown.map((r) => html`<tr>
                    <th scope="row" class=${r.key === null ? "muted" : ""}>
                        ${r.key === null ? t("stats.none") : name(r.key)}</th>
                    <td class="num">${formatNumber(r.count)}</td>
                    <td class="num share"><span class="share-bar" aria-hidden="true">
                        <span style=${{ width: `${total ? Math.round((r.count / total) * 100) : 0}%` }}></span></span>
                        ${percent(total ? r.count / total : 0)}</td>
                </tr>`)}</tbody>
            </table>`}
        ${rows.length > TABLE_ROWS && html`<button type="button" class="btn small ghost more"
            aria-expanded=${all} onClick=${() => setAll(!all)}>
            ${all ? t("stats.showFewer") : t("stats.showAll", { n: rows.length })}</button>`}
    </section>`;
}

function sourceName(key) {
    return ["human", "synthetic", "file_import"].includes(key) ? t(`stats.source.${key}`) : key;
}

function AgreementCard({ paths, task, version }) {
    const res = useApi((signal) => api("GET", `${paths.dataset}/judge/agreement`, { signal }), [paths.dataset, version]);
    const data = res.data;
    const none = data && !(data.overall?.n > 0);
    return html`<section class="card agreement-card" aria-labelledby="stats-agreement">
        <h2 id="stats-agreement">${t("judge.agreementTitle")}</h2>
        ${res.error && html`<${ErrorNote} error=${res.error} onRetry=${res.reload} />`}
        ${!data && !res.error && html`<${Loading} />`}
        ${none && html`<p class="muted">${t("judge.agreementNone")}</p>`}
        ${data && !none && html`<${AgreementTable} data=${data} task=${task} />`}
        <details class="agreement-help">
            <summary>${t("judge.howToRead")}</summary>
            <ul>
                <li>${t("judge.readTau")}</li>
                <li>${t("judge.readMae")}</li>
                <li>${t("judge.readKappa")}</li>
                <li>${t("judge.readN")}</li>
            </ul>
        </details>
    </section>`;
}

function Stats({ s, paths, task, version }) {
    const tables = useMemo(() => [
        ["sessions", "stats.sessions"], ["sources", "stats.sources"],
        ["prompt_methods", "stats.promptMethods"], ["tags", "stats.tags"],
        ["input_models", "stats.inputModels"], ["output_models", "stats.outputModels"],
    ], []);
    return html`<${Figures} s=${s} />
        <div class="stats-charts">
            <section class="card chart-card wide" aria-labelledby="stats-topics">
                <h2 id="stats-topics">${t("stats.topics")}</h2>
                <${TopicChart} tree=${s.topics} />
            </section>
            <section class="card chart-card" aria-labelledby="stats-ratings">
                <h2 id="stats-ratings">${t("stats.ratings")}</h2>
                <${RatingChart} r=${s.ratings} />
            </section>
            <${ModelCharts} models=${s.output_models} />
        </div>
        <${AgreementCard} paths=${paths} task=${task} version=${version} />
        <section aria-labelledby="stats-breakdown">
            <h2 id="stats-breakdown">${t("stats.breakdown")}</h2>
            ${s.keys_left_out > 0 && html`<p class="hint">${t("stats.keysLeftOut", { n: s.keys_left_out })}</p>`}
            <div class="stats-tables">
                ${tables.map(([k, label]) => html`<${CountTable} key=${k} id=${`stats-${k}`}
                    title=${t(label)} rows=${s[k]} total=${s.total}
                    name=${k === "sources" ? sourceName : undefined} />`)}
            </div>
        </section>`;
}

export default function StatsPage({ params, task }) {
    useLocale();
    const [judging, setJudging] = useState(false);
    const [version, setVersion] = useState(0);
    useTitle(t("stats.title"));
    const paths = taskPaths(params.p, params.t);
    const { data, error, loading, reload } = useApi(
        (signal) => api("GET", `${paths.task}/stats`, { signal }), [paths.task]);
    let body;
    if (error) body = html`<${ErrorNote} error=${error} onRetry=${reload} />`;
    else if (!data) body = html`<${Loading} />`;
    else if (data.total === 0)
        body = html`<${Empty}>
            <h2>${t("stats.emptyTitle")}</h2>
            <p>${t("stats.emptyText")}</p>
            <p class="empty-actions">
                <${Link} class="btn primary" href=${taskHref(params.p, params.t, "/generate")}>${t("stats.goGenerate")}</${Link}>
                <${Link} class="btn" href=${taskHref(params.p, params.t, "/import")}>${t("stats.goImport")}</${Link}>
            </p>
        </${Empty}>`;
    else body = html`<${Stats} s=${data} paths=${paths} task=${task} version=${version} />`;
    return html`<section class="page stats-page">
        <div class="page-head">
            <div>
                <h1>${t("stats.title")}</h1>
                ${data?.total > 0 && html`<p class="muted">${t("stats.lead", { n: data.total })}</p>`}
            </div>
            <div class="actions">
                ${data?.total > 0 && html`<button type="button" class="btn" onClick=${() => setJudging(true)}>${t("judge.action")}</button>`}
                <button type="button" class="btn" onClick=${() => { reload(); setVersion((v) => v + 1); }}
                    disabled=${loading}>${t("stats.refresh")}</button>
            </div>
        </div>
        ${body}
        ${judging && html`<${JudgeDialog} dataset=${paths.dataset} onClose=${() => setJudging(false)}
            onStarted=${(r) => {
                setJudging(false);
                toast(t("judge.started", { n: r.samples ?? 0 }));
                navigate(taskHref(params.p, params.t, `/jobs/${encodeURIComponent(r.job_id)}`));
            }} />`}
    </section>`;
}
