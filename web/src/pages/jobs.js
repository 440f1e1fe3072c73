// Jobs of a task: the list (GET .../jobs, no stream) and one job's detail, whose event stream is
// open only while the detail is shown. Cancel (after a confirmation) while it is queued or
// running; Resume once it failed or was cancelled.
import { api, taskPaths } from "../api.js";
import { confirmDialog } from "../components/dialog.js";
import { isFinal, JobProgress, JobStatus, jobShare, ProgressBar, useJobEvents } from "../components/job-progress.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { useApi } from "../data.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("transfer");

function kindLabel(kind) {
    const known = ["import_file", "import_samples", "near_duplicates"];
    return known.includes(kind) ? t(`jobs.kind.${kind}`) : kind;
}

function JobList({ params, task }) {
    useTitle(`${t("tabs.jobs")} · ${task?.name ?? ""}`);
    const paths = taskPaths(params.p, params.t);
    const { data, error, loading, reload } = useApi((signal) => api("GET", `${paths.dataset}/jobs`, { signal }),
        [paths.dataset]);
    const jobs = data?.jobs ?? [];
    return html`<section class="page jobs-page">
        <div class="page-head">
            <div><h1>${t("jobs.title")}</h1><p class="muted">${t("jobs.intro")}</p></div>
            <div class="actions"><button type="button" class="btn" onClick=${reload}>${t("jobs.refresh")}</button></div>
        </div>
        ${error && html`<${ErrorNote} error=${error} onRetry=${reload} />`}
        ${loading && !data && html`<${Loading} />`}
        ${data && jobs.length === 0 && html`<${Empty}><p>${t("jobs.none")}</p>
            <p><${Link} href=${taskHref(params.p, params.t, "/import")}>${t("jobs.goImport")}</${Link}></p></${Empty}>`}
        ${jobs.length > 0 && html`<div class="table-wrap"><table class="data jobs-table">
            <caption class="visually-hidden">${t("jobs.title")}</caption>
            <thead><tr>
                <th scope="col">${t("jobs.kindCol")}</th>
                <th scope="col">${t("jobs.statusCol")}</th>
                <th scope="col" class="progress-col">${t("jobs.progress")}</th>
                <th scope="col" class="num">${t("jobs.items")}</th>
                <th scope="col" class="created-col">${t("jobs.created")}</th>
            </tr></thead>
            <tbody>${jobs.map((j) => html`<tr key=${j.id}>
                <td><${Link} href=${taskHref(params.p, params.t, `/jobs/${encodeURIComponent(j.id)}`)}>${kindLabel(j.kind)}</${Link}>
                    <div class="muted mono small">${j.id}</div></td>
                <td><${JobStatus} status=${j.status} /></td>
                <td class="progress-col"><${ProgressBar} share=${jobShare(j)} label=${t("jobs.progressOf", { id: j.id })} /></td>
                <td class="num nowrap">${formatNumber(j.completed)} / ${formatNumber(j.total)}
                    ${j.failed ? html`<div class="bad small">${t("jobs.failedN", { n: j.failed })}</div>` : null}</td>
                <td class="nowrap created-col">${formatDate(j.created_at)}</td>
            </tr>`)}</tbody>
        </table></div>`}
    </section>`;
}

function Times({ job }) {
    return html`<dl class="job-times">
        <div><dt>${t("jobs.created")}</dt><dd>${formatDate(job.created_at)}</dd></div>
        <div><dt>${t("jobs.started")}</dt><dd>${formatDate(job.started_at)}</dd></div>
        <div><dt>${t("jobs.finished")}</dt><dd>${formatDate(job.finished_at)}</dd></div>
    </dl>`;
}

function JobDetail({ params }) {
    const paths = taskPaths(params.p, params.t);
    const path = `${paths.dataset}/jobs/${encodeURIComponent(params.job)}`;
    const loaded = useApi((signal) => api("GET", path, { signal }), [path]);
    const [generation, setGeneration] = useState(0);
    const [busy, setBusy] = useState(false);
    const [actionError, setActionError] = useState(null);
    const live = useJobEvents(loaded.data ? path : null, loaded.data, generation);
    const job = live.job;

    async function act(what) {
        if (what === "cancel") {
            const ok = await confirmDialog({
                title: t("jobs.cancelTitle"), body: t("jobs.cancelBody", { kind: kindLabel(job.kind), n: job.total - job.completed - job.failed }),
                confirmLabel: t("jobs.cancelJob"),
            });
            if (!ok) return;
        }
        setBusy(true);
        setActionError(null);
        try {
            const answer = await api("POST", `${path}/${what}`);
            loaded.setData(answer);
            setGeneration((g) => g + 1);
            toast(what === "cancel" ? t("jobs.cancelAsked") : t("jobs.resumed"));
        } catch (err) {
            setActionError(err);
        } finally {
            setBusy(false);
        }
    }

    useTitle(`${t("jobs.job")} ${params.job}`);
    const back = html`<p class="back"><${Link} href=${taskHref(params.p, params.t, "/jobs")}>← ${t("jobs.all")}</${Link}></p>`;
    if (loaded.error) return html`<section class="page">${back}<${ErrorNote} error=${loaded.error} onRetry=${loaded.reload} /></section>`;
    if (!job) return html`<section class="page">${back}<${Loading} /></section>`;
    const canCancel = !isFinal(job.status);
    const canResume = job.status === "failed" || job.status === "cancelled";
    return html`<section class="page job-detail">
        ${back}
        <div class="page-head">
            <div>
                <h1>${kindLabel(job.kind)} <span class="muted mono job-id">${job.id}</span></h1>
                <p class="muted">${t("jobs.liveNote")}</p>
            </div>
            <div class="actions">
                ${canCancel && html`<button type="button" class="btn danger" disabled=${busy} onClick=${() => act("cancel")}>${t("jobs.cancelJob")}</button>`}
                ${canResume && html`<button type="button" class="btn primary" disabled=${busy} onClick=${() => act("resume")}>${t("jobs.resume")}</button>`}
            </div>
        </div>
        ${actionError && html`<${ErrorNote} error=${actionError} />`}
        ${live.error && html`<${ErrorNote} error=${live.error} />`}
        <div class="transfer-split">
            <section class="card" aria-labelledby="job-progress-title">
                <h2 id="job-progress-title">${t("jobs.progress")}</h2>
                <div aria-live="polite"><${JobProgress} job=${job} /></div>
                ${job.error && html`<p class="job-error" role="alert">${job.error}</p>`}
            </section>
            <section class="card" aria-labelledby="job-times-title">
                <h2 id="job-times-title">${t("jobs.timeline")}</h2>
                <${Times} job=${job} />
            </section>
        </div>
        <section class="card job-errors-card" aria-labelledby="job-errors-title">
            <h2 id="job-errors-title">${t("jobs.errors")}</h2>
            ${job.errors?.length
                ? html`<ol class="job-errors">${job.errors.map((x) => html`<li key=${x.index}>
                    <span class="mono item-no">${t("jobs.item", { n: x.index + 1 })}</span> <span>${x.detail}</span></li>`)}</ol>
                    ${job.failed > job.errors.length && html`<p class="muted">${t("jobs.moreErrors", { n: job.failed - job.errors.length })}</p>`}`
                : html`<p class="muted">${t("jobs.noErrors")}</p>`}
        </section>
    </section>`;
}

export default function JobsPage({ params, task }) {
    return params.job ? html`<${JobDetail} key=${params.job} params=${params} />`
        : html`<${JobList} params=${params} task=${task} />`;
}
