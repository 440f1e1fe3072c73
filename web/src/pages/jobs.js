// Jobs of a task: the list (GET .../jobs, no stream) and one job's detail, whose event stream is
// open only while the detail is shown. Cancel (after a confirmation) while it is queued, running
// or paused; Resume once it paused, failed or was cancelled. A pipeline or judge job also shows
// a bar per stage, the estimate beside the actual calls, tokens and cost, and its budget against
// the spend; a paused one says why, and its Resume offers a new budget.
import { api, taskPaths } from "../api.js";
import { confirmDialog, Dialog } from "../components/dialog.js";
import { isFinal, JobProgress, JobStatus, jobShare, ProgressBar, useJobEvents } from "../components/job-progress.js";
import { BudgetFields, budgetBody, budgetForm, BudgetSpend, EstimateVsActual, StageBars } from "../components/stages.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { useApi } from "../data.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("transfer");

function kindLabel(kind) {
    const known = ["import_file", "import_samples", "near_duplicates", "pipeline", "judge"];
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

// Resuming a paused (or stopped) job with a new budget: the caps start at the job's own.
function ResumeDialog({ job, onResume, onClose }) {
    const [form, setForm] = useState(() => budgetForm(job.budget));
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function submit(ev) {
        ev.preventDefault();
        setBusy(true);
        setError(null);
        try {
            await onResume({ budget: budgetBody(form) || {} });
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    }
    return html`<${Dialog} title=${t("pipeline.resumeTitle")} onClose=${onClose}>
        <form onSubmit=${submit}>
            ${job.status === "paused" && job.error && html`<p class="paused-reason">${job.error}</p>`}
            <p class="hint">${t("pipeline.resumeBody")}</p>
            <${BudgetFields} value=${form} onChange=${setForm} error=${error} />
            ${error && !(error.field || "").startsWith("budget.") && html`<${ErrorNote} error=${error} />`}
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${busy}>${t("jobs.resume")}</button>
            </div>
        </form>
    </${Dialog}>`;
}

function StagesCards({ job }) {
    return html`<div class="stages-split">
        <section class="card" aria-labelledby="job-stages-title">
            <h2 id="job-stages-title">${t("pipeline.stages")}</h2>
            <div aria-live="polite"><${StageBars} stages=${job.stages} /></div>
        </section>
        <section class="card" aria-labelledby="job-budget-title">
            <h2 id="job-budget-title">${t("pipeline.budgetSpend")}</h2>
            <${BudgetSpend} budget=${job.budget} spent=${job.spent} />
        </section>
        <section class="card wide" aria-labelledby="job-compare-title">
            <h2 id="job-compare-title">${t("pipeline.estVsActual")}</h2>
            <${EstimateVsActual} stages=${job.stages} />
        </section>
    </div>`;
}

function JobDetail({ params }) {
    const paths = taskPaths(params.p, params.t);
    const path = `${paths.dataset}/jobs/${encodeURIComponent(params.job)}`;
    const loaded = useApi((signal) => api("GET", path, { signal }), [path]);
    const [generation, setGeneration] = useState(0);
    const [busy, setBusy] = useState(false);
    const [actionError, setActionError] = useState(null);
    const [resuming, setResuming] = useState(false);
    const live = useJobEvents(loaded.data ? path : null, loaded.data, generation);
    const job = live.job;

    async function resumeWith(body) {
        const answer = await api("POST", `${path}/resume`, { body });
        setResuming(false);
        loaded.setData(answer);
        setGeneration((g) => g + 1);
        toast(t("jobs.resumed"));
    }

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
    const canResume = ["paused", "failed", "cancelled"].includes(job.status);
    const staged = Boolean(job.stages && typeof job.stages === "object");
    return html`<section class="page job-detail">
        ${back}
        <div class="page-head">
            <div>
                <h1>${kindLabel(job.kind)} <span class="muted mono job-id">${job.id}</span></h1>
                <p class="muted">${t("jobs.liveNote")}</p>
            </div>
            <div class="actions">
                ${canCancel && html`<button type="button" class="btn danger" disabled=${busy} onClick=${() => act("cancel")}>${t("jobs.cancelJob")}</button>`}
                ${canResume && html`<button type="button" class="btn primary" disabled=${busy}
                    onClick=${() => (staged ? setResuming(true) : act("resume"))}>${staged ? t("pipeline.resumeBudget") : t("jobs.resume")}</button>`}
            </div>
        </div>
        ${actionError && html`<${ErrorNote} error=${actionError} />`}
        ${live.error && html`<${ErrorNote} error=${live.error} />`}
        ${job.status === "paused" && html`<div class="paused-note" role="status">
            <strong>${t("pipeline.pausedTitle")}</strong>
            <span>${job.error || t("pipeline.pausedNoReason")}</span>
        </div>`}
        <div class="transfer-split">
            <section class="card" aria-labelledby="job-progress-title">
                <h2 id="job-progress-title">${t("jobs.progress")}</h2>
                <div aria-live="polite"><${JobProgress} job=${job} /></div>
                ${job.error && job.status !== "paused" && html`<p class="job-error" role="alert">${job.error}</p>`}
            </section>
            <section class="card" aria-labelledby="job-times-title">
                <h2 id="job-times-title">${t("jobs.timeline")}</h2>
                <${Times} job=${job} />
            </section>
        </div>
        ${staged && html`<${StagesCards} job=${job} />`}
        <section class="card job-errors-card" aria-labelledby="job-errors-title">
            <h2 id="job-errors-title">${t("jobs.errors")}</h2>
            ${job.errors?.length
                ? html`<ol class="job-errors">${job.errors.map((x) => html`<li key=${x.index}>
                    <span class="mono item-no">${t("jobs.item", { n: x.index + 1 })}</span> <span>${x.detail}</span></li>`)}</ol>
                    ${job.failed > job.errors.length && html`<p class="muted">${t("jobs.moreErrors", { n: job.failed - job.errors.length })}</p>`}`
                : html`<p class="muted">${t("jobs.noErrors")}</p>`}
        </section>
        ${resuming && html`<${ResumeDialog} job=${job} onResume=${resumeWith} onClose=${() => setResuming(false)} />`}
    </section>`;
}

export default function JobsPage({ params, task }) {
    return params.job ? html`<${JobDetail} key=${params.job} params=${params} />`
        : html`<${JobList} params=${params} task=${task} />`;
}
