// Bar charts drawn with uPlot, which is loaded (script and stylesheet) only when a page first
// draws a chart, so the first load of the app carries none of it. A chart sizes itself to its
// container and redraws when the container changes size. The canvas is an image for assistive
// technology; the same numbers are in a table under it ("Show as table"), which is what a screen
// reader or a keyboard user reads.
//
// <BarChart title="Ratings" labels=${["1★", ...]} series=${[{label, values, color?}]}
//           colors=${["#..", ...]} horizontal stacked format=${fn} onPick=${(i) => ...}
//           pickable=${(i) => bool} />
// labels name the bars; each series has one value per label (null: no bar). colors (one per
// bar) paint a single series bar by bar. stacked piles the series on each other. onPick(i) is
// called when bar i is clicked (only for bars pickable(i) allows, when given).
import { formatNumber, getLocale, t } from "../i18n.js";
import { html, useEffect, useMemo, useRef, useState } from "../lib.js";

let library = null;

function vendorCss(name) {
    return new Promise((resolve, reject) => {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = new URL(`../../vendor/${name}`, import.meta.url).href;
        link.onload = resolve;
        link.onerror = () => reject(new Error(`style ${name} failed to load`));
        document.head.append(link);
    });
}

// Starts loading uPlot (once); resolves to its constructor.
export function loadCharts() {
    if (!library) {
        library = Promise.all([import("../../vendor/uplot.mjs"), vendorCss("uplot.css")]).then(
            ([mod]) => mod.default,
        );
        library.catch(() => (library = null));
    }
    return library;
}

// The app's palette, read from its stylesheet so the charts match the rest of the page.
export function palette() {
    const css = getComputedStyle(document.documentElement);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    return {
        accent: v("--accent", "#1f5f8b"),
        accentSoft: v("--chart-soft", "#8fb5d1"),
        ok: v("--ok", "#1d6b3a"),
        warn: v("--warn", "#8a5a00"),
        danger: v("--danger", "#b3261e"),
        muted: v("--muted", "#5a6676"),
        grey: v("--chart-grey", "#aab3bf"),
        border: v("--border", "#d9dee5"),
        text: v("--text", "#1c2430"),
        font: getComputedStyle(document.body).fontFamily,
    };
}

// tick steps for counts: 1, 2, 5, 10, 20, 50...
const WHOLE = Array.from({ length: 45 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));
const BAR_PX = 30; // a horizontal chart's height per bar
const measure = document.createElement("canvas").getContext("2d");

function clip(text, px, font) {
    measure.font = font;
    if (measure.measureText(text).width <= px) return text;
    let s = text;
    while (s.length > 1 && measure.measureText(`${s}…`).width > px) s = s.slice(0, -1);
    return `${s}…`;
}

function widest(labels, font) {
    measure.font = font;
    return labels.reduce((w, l) => Math.max(w, measure.measureText(l).width), 0);
}

// The uPlot options and data for the chart's props at a width.
function build(uPlot, props, width, tip) {
    const { labels, series, colors, stacked, format = formatNumber } = props;
    const pal = palette();
    const font = `12px ${pal.font}`;
    const n = labels.length;
    // columns too narrow for their labels lie down as rows
    const horizontal = props.horizontal || (width - 60) / n < 52;
    const xs = labels.map((_, i) => i);
    // stacked: each drawn series is the sum of itself and those before; the last drawn first
    const drawn = stacked
        ? series.map((s, k) => xs.map((i) => series.slice(0, k + 1)
            .reduce((sum, x) => (x.values[i] === null ? sum : sum + x.values[i]), 0))).reverse()
        : series.map((s) => s.values);
    const order = stacked ? [...series].reverse() : series;
    const top = Math.max(0, ...drawn.flat().filter((v) => v !== null));
    const integral = drawn.flat().every((v) => v === null || Number.isInteger(v));
    const labelPx = horizontal ? Math.min(Math.ceil(widest(labels, font)) + 14, width * 0.42) : 0;
    const height = horizontal ? Math.max(84, n * BAR_PX + 40) : props.height || 240;
    const bars = uPlot.paths.bars({ size: horizontal ? [0.7, 22] : [0.64, 56], radius: 0.12, align: 0 });
    const opts = {
        width, height,
        legend: { show: false },
        padding: [12, 16, 4, 4],
        cursor: { drag: { x: false, y: false, setScale: false }, points: { show: false },
            x: false, y: false },
        select: { show: false },
        scales: {
            x: { time: false, range: () => [-0.5, n - 0.5], ...(horizontal ? { ori: 1, dir: -1 } : {}) },
            y: { range: () => [0, top > 0 ? top * 1.08 : 1], ...(horizontal ? { ori: 0 } : {}) },
        },
        axes: [
            {
                side: horizontal ? 3 : 2, font, stroke: pal.text, gap: 6,
                size: horizontal ? labelPx : 34,
                grid: { show: false }, ticks: { show: false },
                splits: () => xs,
                values: (u, splits) => splits.map((i) => {
                    const l = labels[i] ?? "";
                    if (horizontal) return clip(l, labelPx - 12, font);
                    return clip(l, Math.max(24, (width - 60) / n - 6), font);
                }),
            },
            {
                side: horizontal ? 2 : 3, font, stroke: pal.muted, size: horizontal ? 30 : 56,
                space: horizontal ? 80 : 36,
                grid: { stroke: pal.border, width: 1 }, ticks: { show: false },
                ...(integral ? { incrs: WHOLE } : {}),
                values: (u, vals) => vals.map((v) => format(v)),
            },
        ],
        series: [
            {},
            ...order.map((s, k) => ({
                label: s.label,
                width: 0,
                fill: s.color || pal.accent,
                stroke: s.color || pal.accent,
                points: { show: false },
                paths: bars,
                ...(colors && k === 0
                    ? { paths: uPlot.paths.bars({ size: [0.64, 56], radius: 0.12,
                        disp: { fill: { unit: 3, values: () => colors } } }) }
                    : {}),
            })),
        ],
        hooks: {
            setCursor: [(u) => tip(u, u.cursor.idx)],
        },
    };
    return { opts, data: [xs, ...drawn] };
}

function Table({ title, labels, series, format = formatNumber }) {
    return html`<details class="chart-table">
        <summary>${t("chart.showTable")}</summary>
        <div class="table-wrap"><table class="data">
            <caption class="visually-hidden">${title}</caption>
            <thead><tr>
                <th scope="col">${t("chart.category")}</th>
                ${series.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}
            </tr></thead>
            <tbody>${labels.map((l, i) => html`<tr>
                <th scope="row">${l}</th>
                ${series.map((s) => html`<td class="num">${s.values[i] === null ? "—" : format(s.values[i])}</td>`)}
            </tr>`)}</tbody>
        </table></div>
    </details>`;
}

export function BarChart(props) {
    const { title, labels, series, format, onPick, pickable } = props;
    const box = useRef(null);
    const [failed, setFailed] = useState(null);
    const live = useRef(props);
    live.current = props;
    // a new plot when the numbers or labels change (cheap at these sizes)
    const locale = getLocale();
    const key = useMemo(() => JSON.stringify([locale, labels, series, props.colors, props.horizontal,
        props.stacked]), [locale, labels, series, props.colors, props.horizontal, props.stacked]);

    useEffect(() => {
        let plot = null;
        let gone = false;
        let observer = null;
        const el = box.current;
        const node = document.createElement("div");
        node.className = "chart-tip";
        node.hidden = true;
        const tip = (u, i) => {
            const p = live.current;
            const can = i !== null && i !== undefined && (!p.pickable || p.pickable(i));
            u.over.style.cursor = p.onPick && can ? "pointer" : "default";
            if (i === null || i === undefined || u.cursor.left < 0) {
                node.hidden = true;
                return;
            }
            const fmt = p.format || formatNumber;
            const parts = p.series.filter((s) => s.values[i] !== null)
                .map((s) => (p.series.length > 1 ? `${s.label}: ${fmt(s.values[i])}` : fmt(s.values[i])));
            node.textContent = `${p.labels[i]} · ${parts.join(" · ")}`;
            node.hidden = false;
            const x = Math.min(u.cursor.left + 14, u.over.clientWidth - node.offsetWidth - 4);
            node.style.transform = `translate(${Math.max(0, x)}px, ${u.cursor.top + 14}px)`;
        };
        loadCharts().then((uPlot) => {
            if (gone) return;
            const draw = () => {
                const width = Math.max(200, Math.floor(el.clientWidth));
                const { opts, data } = build(uPlot, live.current, width, tip);
                const target = el.querySelector(".chart-canvas");
                if (plot) plot.destroy();
                target.style.minHeight = `${opts.height}px`;
                plot = new uPlot(opts, data, target);
                plot.over.append(node);
                plot.over.addEventListener("click", () => {
                    const i = plot.cursor.idx;
                    const p = live.current;
                    if (i !== null && i !== undefined && p.onPick && (!p.pickable || p.pickable(i)))
                        p.onPick(i);
                });
            };
            draw();
            let lastWidth = el.clientWidth;
            observer = new ResizeObserver(() => {
                if (Math.abs(el.clientWidth - lastWidth) < 1) return;
                lastWidth = el.clientWidth;
                draw(); // axis labels are clipped to the width: build again, not only resize
            });
            observer.observe(el);
        }, (err) => !gone && setFailed(err));
        return () => {
            gone = true;
            observer?.disconnect();
            plot?.destroy();
        };
    }, [key]);

    const height = props.horizontal ? Math.max(84, labels.length * BAR_PX + 40) : props.height || 240;
    return html`<div class="chart">
        <div class="chart-box" ref=${box} role="img"
            aria-label=${t("chart.alt", { title })}>
            ${failed
                ? html`<p class="muted">${t("chart.failed")}</p>`
                : html`<div class="chart-canvas" style=${{ minHeight: `${height}px` }} aria-hidden="true"></div>`}
        </div>
        <${Table} title=${title} labels=${labels} series=${series} format=${format} />
    </div>`;
}
