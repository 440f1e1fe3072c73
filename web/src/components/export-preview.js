// The first lines of an export: the stream is read until it has `limit` lines, then dropped
// (the server stops reading the store when the client hangs up). JSON lines are pretty-printed.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { html, useEffect, useState } from "../lib.js";
import { ErrorNote, Loading } from "./status.js";

export async function firstLines(path, limit, signal) {
    const ctrl = new AbortController(); // ends the request once the lines are in
    signal.addEventListener("abort", () => ctrl.abort());
    const res = await api("GET", path, { raw: true, signal: ctrl.signal });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let lines = [];
    for (;;) {
        const { value, done } = await reader.read();
        if (value) text += value;
        lines = text.split("\n");
        if (done || lines.length > limit) break;
    }
    ctrl.abort();
    return lines.filter((l, i) => l !== "" || i < lines.length - 1).slice(0, limit);
}

function pretty(line) {
    try {
        return JSON.stringify(JSON.parse(line), null, 2);
    } catch {
        return line;
    }
}

// Shows the first `limit` lines of GET path (refetched, after a short pause, when path changes).
// whole: the answer is one JSON document (pretty-printed entire).
export function ExportPreview({ path, limit = 5, whole }) {
    const [state, setState] = useState({ loading: true });
    useEffect(() => {
        const ctrl = new AbortController();
        setState((s) => ({ ...s, loading: true, error: null }));
        const timer = setTimeout(() => {
            firstLines(path, whole ? 10000 : limit, ctrl.signal).then(
                (lines) => setState({ lines: whole ? [lines.join("\n")] : lines, loading: false }),
                (error) => error.name !== "AbortError" && setState({ error, loading: false }),
            );
        }, 300);
        return () => {
            clearTimeout(timer);
            ctrl.abort();
        };
    }, [path, limit, whole]);
    if (state.error) return html`<${ErrorNote} error=${state.error} />`;
    if (!state.lines) return html`<${Loading} />`;
    if (state.lines.length === 0) return html`<p class="muted preview-empty">${t("export.previewEmpty")}</p>`;
    return html`<ol class=${state.loading ? "preview-lines stale" : "preview-lines"} aria-busy=${state.loading}>
        ${state.lines.map((line, i) => html`<li key=${i}><pre tabindex="0" aria-label=${t("export.previewLine", { n: i + 1 })}>${pretty(line)}</pre></li>`)}
    </ol>`;
}
