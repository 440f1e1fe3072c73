// A job's progress: its status badge, a bar, the counts and the rate, kept live from the job's
// event stream (GET .../jobs/{id}/events: `progress` with the job's JSON on each change, then
// `end` with the final JSON). The stream is opened only while a component using it is mounted.
import { followEvents } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { html, useEffect, useState } from "../lib.js";

const FINAL = new Set(["completed", "completed_with_errors", "failed", "cancelled"]);
const BADGE = {
    queued: "info", running: "info", paused: "warn", completed: "ok", completed_with_errors: "warn",
    failed: "danger", cancelled: "",
};

export function isFinal(status) {
    return FINAL.has(status);
}

// Follows the job at path (…/jobs/{id}) from `initial` (its JSON, or null) while `live`; a new
// `generation` opens the stream again (after a resume). Answers {job, error}.
export function useJobEvents(path, initial, generation = 0, live = true) {
    const [job, setJob] = useState(initial);
    const [error, setError] = useState(null);
    useEffect(() => setJob(initial), [initial]);
    useEffect(() => {
        if (!path || !live) return undefined;
        const ctrl = new AbortController();
        setError(null);
        followEvents(`${path}/events`, (ev) => {
            if ((ev.event === "progress" || ev.event === "end") && ev.data && typeof ev.data === "object")
                setJob(ev.data);
        }, ctrl.signal).catch((err) => {
            if (err.name !== "AbortError") setError(err);
        });
        return () => ctrl.abort();
    }, [path, generation, live]);
    return { job, error };
}

export function JobStatus({ status }) {
    const cls = BADGE[status] ?? "";
    const key = `jobs.status.${status}`;
    return html`<span class=${`badge ${cls}`}>${status in BADGE ? t(key) : status}</span>`;
}

// The share of a job done, 0..1.
export function jobShare(job) {
    if (!job || !job.total) return job && isFinal(job.status) ? 1 : 0;
    return Math.min(1, (job.completed + job.failed) / job.total);
}

export function ProgressBar({ share, label }) {
    const pct = Math.round(share * 1000) / 10;
    return html`<div class="progress" role="progressbar" aria-label=${label} aria-valuemin="0"
        aria-valuemax="100" aria-valuenow=${pct}><span style=${`width: ${pct}%`}></span></div>`;
}

// The bar with its numbers: "120 of 150 · 3 failed · 2 skipped · 41.5/s".
export function JobProgress({ job, compact }) {
    if (!job) return null;
    const share = jobShare(job);
    return html`<div class=${compact ? "job-progress compact" : "job-progress"}>
        <div class="job-progress-head">
            <${JobStatus} status=${job.status} />
            <span class="job-pct">${formatNumber(share, { style: "percent", maximumFractionDigits: 0 })}</span>
        </div>
        <${ProgressBar} share=${share} label=${t("jobs.progress")} />
        <dl class="job-counts">
            <div><dt>${t("jobs.done")}</dt><dd data-count="completed">${formatNumber(job.completed)}
                <span class="muted"> / ${formatNumber(job.total)}</span></dd></div>
            <div><dt>${t("jobs.failed")}</dt><dd data-count="failed" class=${job.failed ? "bad" : ""}>${formatNumber(job.failed)}</dd></div>
            ${job.skipped ? html`<div><dt>${t("jobs.skipped")}</dt><dd data-count="skipped">${formatNumber(job.skipped)}</dd></div>` : null}
            <div><dt>${t("jobs.rate")}</dt><dd>${t("jobs.perSecond", { n: job.rate || 0 })}</dd></div>
        </dl>
    </div>`;
}
