// A task's overview: what the task is (name, instruction, requirements, schemas) in an editor
// that saves to the server, the number of samples it holds and the next steps from here.
import { api, taskPaths } from "../api.js";
import { useTitle } from "../components/status.js";
import { TaskEditor } from "../components/task-editor.js";
import { toast } from "../components/toast.js";
import { forgetTask, useApi } from "../data.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { html, loadStyle } from "../lib.js";
import { Link } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("projects");

const STEPS = [
    { tab: "/topics", icon: "⌥", title: "task.stepTopics", text: "task.stepTopicsText" },
    { tab: "/generate", icon: "✦", title: "task.stepGenerate", text: "task.stepGenerateText" },
    { tab: "/import", icon: "⇪", title: "task.stepImport", text: "task.stepImportText" },
];

function Summary({ params, task }) {
    const paths = taskPaths(params.p, params.t);
    const stats = useApi((signal) => api("GET", `${paths.task}/stats`, { signal }), [params.p, params.t]);
    const total = stats.data?.total;
    return html`<aside class="task-aside" aria-label=${t("task.summary")}>
        <div class="card task-summary">
            <h2>${t("task.summary")}</h2>
            <dl class="facts">
                <div>
                    <dt>${t("task.samples")}</dt>
                    <dd class="big" data-testid="sample-count">${stats.error ? "—"
                        : total === undefined ? "…" : formatNumber(total)}</dd>
                </div>
                <div>
                    <dt>${t("task.requirements")}</dt>
                    <dd class="big">${formatNumber(task.requirements?.length || 0)}</dd>
                </div>
                <div class="wide">
                    <dt>${t("task.createdLabel")}</dt>
                    <dd>${formatDate(task.created_at)}</dd>
                </div>
            </dl>
            ${total > 0 && html`<${Link} class="btn small" href=${taskHref(params.p, params.t, "/samples")}>
                ${t("task.browseSamples")}</${Link}>`}
        </div>
        <nav class="card next-steps" aria-labelledby="next-steps-title">
            <h2 id="next-steps-title">${t("task.nextSteps")}</h2>
            <ol>
                ${STEPS.map((s) => html`<li>
                    <${Link} href=${taskHref(params.p, params.t, s.tab)}>
                        <span class="step-icon" aria-hidden="true">${s.icon}</span>
                        <span><strong>${t(s.title)}</strong><span class="muted">${t(s.text)}</span></span>
                    </${Link}>
                </li>`)}
            </ol>
        </nav>
    </aside>`;
}

export default function Task({ params, task }) {
    useTitle(task.name);

    async function save(body) {
        await api("PATCH", taskPaths(params.p, params.t).taskEdit, { body });
        toast(t("task.saved"));
        forgetTask(params.p, params.t); // the frame reloads and hands the saved task back
    }

    return html`<section class="page task-page">
        <div class="page-head">
            <div>
                <h1>${task.name}</h1>
                ${task.description && html`<p class="muted">${task.description}</p>`}
            </div>
        </div>
        <div class="task-layout">
            <div class="card task-main">
                <h2>${t("task.definition")}</h2>
                <${TaskEditor} task=${task} submitLabel=${t("task.saveChanges")} onSave=${save} />
            </div>
            <${Summary} params=${params} task=${task} />
        </div>
    </section>`;
}
