// Import: a CSV or JSONL file dropped or chosen, sent with its options to
// POST .../import_samples_from_file with upload progress. A small file is stored in the request
// (the answer says how many); a larger one becomes a job whose event stream this page follows
// until it ends. A rejected file shows the server's line (and column) and that nothing was
// stored.
import { taskPaths, upload, withQuery } from "../api.js";
import { DropZone, formatBytes } from "../components/drop-zone.js";
import { Field } from "../components/form.js";
import { isFinal, JobProgress, ProgressBar, useJobEvents } from "../components/job-progress.js";
import { useTitle } from "../components/status.js";
import { formatNumber, t } from "../i18n.js";
import { html, loadStyle, useEffect, useRef, useState } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("transfer");

const ACCEPT = ".csv,.jsonl,.ndjson,text/csv,application/jsonl";
const CSV_SAMPLE = `input,output,topic_path,tags
"How do I reset my password?","Open Settings › Account, then ""Reset"".",Accounts>>>>>Login,"faq,login"
如何申请退款？,请在订单页点击“申请退款”。,售后>>>>>退款,faq`;
const JSONL_SAMPLE = `{"input": "How do I reset my password?", "output": "Open Settings › Account.", "topic_path": ["Accounts", "Login"], "tags": ["faq"]}
{"messages": [{"role": "user", "content": "如何申请退款？"}, {"role": "assistant", "content": "请在订单页点击“申请退款”。"}]}`;

// "line 3 column 6: text after …" → {line: 3, column: 6, rest: "text after …"}
export function lineOf(message) {
    const m = /^line (\d+)(?: column (\d+))?:\s*(.*)$/s.exec(message || "");
    return m ? { line: Number(m[1]), column: m[2] ? Number(m[2]) : null, rest: m[3] } : null;
}

function Rejected({ error, fileName }) {
    const at = lineOf(error.message);
    return html`<div class="import-rejected" role="alert">
        <h3>${t("import.rejected")}</h3>
        <p class="rejected-lead">${t("import.nothingStored", { name: fileName })}</p>
        ${at && html`<p class="rejected-where">
            <span class="where-chip">${t("import.line", { n: at.line })}</span>
            ${at.column !== null && html`<span class="where-chip">${t("import.column", { n: at.column })}</span>`}
        </p>`}
        <p class="rejected-detail">${at ? at.rest : error.message}</p>
        <p class="muted small">${t("import.serverSaid")} <code>${error.status}${error.code ? ` ${error.code}` : ""}${error.field ? ` · ${error.field}` : ""}</code></p>
    </div>`;
}

function Outcome({ params, result, fileName }) {
    const paths = taskPaths(params.p, params.t);
    const jobPath = result.job_id ? `${paths.dataset}/jobs/${encodeURIComponent(result.job_id)}` : null;
    const { job, error } = useJobEvents(jobPath, null);
    if (!result.job_id) {
        return html`<div class="import-done" role="status">
            <h3>${t("import.completed")}</h3>
            <p>${t("import.stored", { n: result.sample_count, name: fileName })}</p>
            <ul class="import-counts">
                <li><strong data-count="stored">${formatNumber(result.sample_count)}</strong> ${t("import.storedLabel")}</li>
                ${result.skipped !== undefined && html`<li><strong data-count="skipped">${formatNumber(result.skipped)}</strong> ${t("import.skippedLabel")}</li>`}
                ${result.failed_count ? html`<li class="bad"><strong data-count="failed">${formatNumber(result.failed_count)}</strong> ${t("import.failedLabel")}</li>` : null}
            </ul>
            ${result.failed_count ? html`<p class="muted">${result.message}</p>` : null}
            <p><${Link} href=${taskHref(params.p, params.t, "/samples")}>${t("import.seeSamples")}</${Link}></p>
        </div>`;
    }
    const done = job && isFinal(job.status);
    return html`<div class="import-job" aria-live="polite">
        <h3>${done ? t("import.jobEnded") : t("import.jobRunning")}</h3>
        <p class="muted">${t("import.jobIntro", { n: result.sample_count })}</p>
        ${job ? html`<${JobProgress} job=${job} />` : html`<${ProgressBar} share=${0} label=${t("jobs.progress")} />`}
        ${error && html`<p class="field-error">${error.message}</p>`}
        ${job?.errors?.length ? html`<ul class="job-errors">${job.errors.map((x) => html`<li key=${x.index}>
            <span class="mono">#${x.index + 1}</span> ${x.detail}</li>`)}</ul>` : null}
        <p class="row">
            <${Link} href=${taskHref(params.p, params.t, `/jobs/${encodeURIComponent(result.job_id)}`)}>${t("import.openJob")}</${Link}>
            ${done && html`<${Link} href=${taskHref(params.p, params.t, "/samples")}>${t("import.seeSamples")}</${Link}>`}
        </p>
    </div>`;
}

function Help() {
    return html`<section class="card import-help" aria-labelledby="import-help-title">
        <h2 id="import-help-title">${t("import.helpTitle")}</h2>
        <h3>CSV</h3>
        <p>${t("import.helpCsv")}</p>
        <ul class="col-list">
            <li><code>input</code> <span class="muted">${t("import.colInput")}</span></li>
            <li><code>output</code> <span class="muted">${t("import.colOutput")}</span></li>
            <li><code>topic_path</code> <span class="muted">${t("import.colTopic")}</span></li>
            <li><code>human_guidance</code> <span class="muted">${t("import.colGuidance")}</span></li>
            <li><code>tags</code> <span class="muted">${t("import.colTags")}</span></li>
        </ul>
        <pre class="sample-file" aria-label=${t("import.sampleCsv")}>${CSV_SAMPLE}</pre>
        <h3>JSONL</h3>
        <p>${t("import.helpJsonl")}</p>
        <pre class="sample-file" aria-label=${t("import.sampleJsonl")}>${JSONL_SAMPLE}</pre>
        <p class="hint">${t("import.helpRoundTrip")}</p>
        <p class="hint">${t("import.helpJob")}</p>
    </section>`;
}

export default function ImportPage({ params, task }) {
    useTitle(`${t("tabs.import")} · ${task?.name ?? ""}`);
    const [file, setFile] = useState(null);
    const [opts, setOpts] = useState({
        session_id: "", dedup: "keep", allow_truncated: false, output_provider: "", output_model_name: "",
    });
    const [sent, setSent] = useState(null); // {loaded, total} while uploading
    const [result, setResult] = useState(null);
    const [error, setError] = useState(null);
    const [sentName, setSentName] = useState("");
    const ctrl = useRef(null);
    const outcome = useRef(null);
    // the outcome comes into view (on a phone it is below the form)
    useEffect(() => {
        if (result || error) outcome.current?.scrollIntoView({ block: "start" });
    }, [result, error]);
    const busy = sent !== null;
    const paths = taskPaths(params.p, params.t);

    function choose(f) {
        setFile(f);
        setResult(null);
        setError(null);
    }

    async function start(ev) {
        ev.preventDefault();
        if (!file || busy) return;
        setError(null);
        setResult(null);
        setSentName(file.name);
        setSent({ loaded: 0, total: file.size });
        ctrl.current = new AbortController();
        const query = {
            session_id: opts.session_id.trim() || null,
            dedup: opts.dedup === "keep" ? null : opts.dedup,
            allow_truncated: opts.allow_truncated ? "true" : null,
            output_provider: opts.output_provider.trim() || null,
            output_model_name: opts.output_model_name.trim() || null,
        };
        try {
            const answer = await upload(withQuery(`${paths.dataset}/import_samples_from_file`, query),
                file, (loaded, total) => setSent({ loaded, total }), ctrl.current.signal);
            setResult(answer);
            setFile(null);
        } catch (err) {
            if (err.name !== "AbortError") setError(err);
        } finally {
            setSent(null);
            ctrl.current = null;
        }
    }

    const set = (k) => (ev) => setOpts((o) => ({ ...o, [k]: ev.target.type === "checkbox" ? ev.target.checked : ev.target.value }));
    return html`<section class="page import-page">
        <div class="page-head">
            <div><h1>${t("import.title")}</h1><p class="muted">${t("import.intro")}</p></div>
        </div>
        <div class="transfer-split">
            <div class="stack">
                <form class="card" onSubmit=${start} aria-labelledby="import-form-title">
                    <h2 id="import-form-title">${t("import.fileTitle")}</h2>
                    <${DropZone} accept=${ACCEPT} file=${file} onFile=${choose} disabled=${busy}
                        title=${t("import.drop")} hint=${t("import.dropHint")} />
                    <fieldset class="import-options">
                        <legend>${t("import.options")}</legend>
                        <div class="options-grid">
                            <${Field} label=${t("import.session")} name="session_id" error=${error} hint=${t("import.sessionHint")}>
                                ${(id, d) => html`<input id=${id} type="text" value=${opts.session_id} aria-describedby=${d}
                                    onInput=${set("session_id")} maxlength="200" autocomplete="off" />`}
                            </${Field}>
                            <${Field} label=${t("import.dedup")} name="dedup" error=${error} hint=${t(`import.dedupHint.${opts.dedup}`)}>
                                ${(id, d) => html`<select id=${id} value=${opts.dedup} aria-describedby=${d} onChange=${set("dedup")}>
                                    <option value="keep">${t("import.dedup.keep")}</option>
                                    <option value="skip">${t("import.dedup.skip")}</option>
                                    <option value="fail">${t("import.dedup.fail")}</option>
                                </select>`}
                            </${Field}>
                        </div>
                        <p class="hint options-note">${t("import.outputsNote")}</p>
                        <div class="options-grid">
                            <${Field} label=${t("import.outputProvider")} name="output_provider" error=${error}>
                                ${(id) => html`<input id=${id} type="text" value=${opts.output_provider} list="import-providers"
                                    onInput=${set("output_provider")} autocomplete="off" placeholder="openai" />
                                    <datalist id="import-providers"><option value="openai" /><option value="anthropic" /><option value="together_ai" /></datalist>`}
                            </${Field}>
                            <${Field} label=${t("import.outputModel")} name="output_model_name" error=${error}>
                                ${(id) => html`<input id=${id} type="text" value=${opts.output_model_name}
                                    onInput=${set("output_model_name")} autocomplete="off" placeholder="gpt-4o-mini" />`}
                            </${Field}>
                        </div>
                        <label class="checkbox"><input type="checkbox" checked=${opts.allow_truncated}
                            onChange=${set("allow_truncated")} /> ${t("import.allowTruncated")}</label>
                        <p class="hint">${t("import.allowTruncatedHint")}</p>
                    </fieldset>
                    <div class="row">
                        <button type="submit" class="btn primary" disabled=${!file || busy}>
                            ${busy ? t("import.uploading") : t("import.start")}</button>
                        ${busy && html`<button type="button" class="btn" onClick=${() => ctrl.current?.abort()}>${t("common.cancel")}</button>`}
                    </div>
                    ${busy && html`<div class="upload-progress">
                        <${ProgressBar} share=${sent.total ? sent.loaded / sent.total : 0} label=${t("import.uploadProgress")} />
                        <p class="muted">${t("import.sent", { sent: formatBytes(sent.loaded), total: formatBytes(sent.total) })}</p>
                    </div>`}
                </form>
                ${(error || result) && html`<section class="card import-result" ref=${outcome} aria-labelledby="import-result-title">
                    <h2 id="import-result-title">${t("import.result")}</h2>
                    ${error && html`<${Rejected} error=${error} fileName=${sentName} />`}
                    ${result && html`<${Outcome} key=${result.job_id || "inline"} params=${params} result=${result} fileName=${sentName} />`}
                </section>`}
            </div>
            <${Help} />
        </div>
    </section>`;
}
