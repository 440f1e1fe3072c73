// One project: its name and description (editable), its tasks with an excerpt of each one's
// instruction, a new task made with the task editor, a task deleted after a confirmation.
import { api } from "../api.js";
import { confirmDialog, Dialog } from "../components/dialog.js";
import { confirmProjectDelete, ProjectDialog } from "../components/project-dialog.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { TaskEditor } from "../components/task-editor.js";
import { toast } from "../components/toast.js";
import { forgetTask, useApi } from "../data.js";
import { formatDate, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { Link, navigate } from "../router.js";
import { taskHref } from "../routes.js";

await loadStyle("projects");

const EXCERPT_CHARS = 180;

function excerpt(text) {
    const s = (text || "").replace(/\s+/g, " ").trim();
    return s.length > EXCERPT_CHARS ? `${s.slice(0, EXCERPT_CHARS).trimEnd()}…` : s;
}

function TaskRow({ projectId, task, onDelete }) {
    const n = task.requirements?.length || 0;
    const headingId = `task-${task.id}`;
    return html`<li class="card task-item" aria-labelledby=${headingId}>
        <div class="task-item-main">
            <h3 id=${headingId}><${Link} href=${taskHref(projectId, task.id)}>${task.name}</${Link}></h3>
            ${task.description && html`<p class="task-item-desc">${task.description}</p>`}
            <p class="task-item-instruction muted">${excerpt(task.instruction)}</p>
            <p class="task-item-meta">
                <span class=${n ? "badge info" : "badge"}>${t("project.requirementCount", { n })}</span>
                ${task.output_json_schema && html`<span class="badge">${t("project.structured")}</span>`}
                <span class="muted small">${t("projects.created", { date: formatDate(task.created_at) })}</span>
            </p>
        </div>
        <div class="task-item-actions">
            <${Link} class="btn small" href=${taskHref(projectId, task.id)}
                aria-label=${t("project.openNamed", { name: task.name })}>${t("project.open")}</${Link}>
            <button type="button" class="btn small ghost danger-text" onClick=${() => onDelete(task)}
                aria-label=${t("project.deleteTaskNamed", { name: task.name })}>${t("common.delete")}</button>
        </div>
    </li>`;
}

export default function Project({ params }) {
    const p = params.p;
    const base = `/api/projects/${encodeURIComponent(p)}`;
    const project = useApi((signal) => api("GET", base, { signal }), [p]);
    const tasks = useApi((signal) => api("GET", `${base}/tasks`, { signal }), [p]);
    const [dialog, setDialog] = useState(null); // "edit" or "task"
    useTitle(project.data?.name);

    async function removeProject() {
        if (!(await confirmProjectDelete(project.data))) return;
        try {
            await api("DELETE", base);
            forgetTask(p);
            toast(t("projects.deleted", { name: project.data.name }));
            navigate("/");
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }

    async function removeTask(task) {
        const ok = await confirmDialog({
            title: t("project.deleteTaskTitle"),
            body: html`<p>${t("project.deleteTaskBody", { name: task.name })}</p>
                <p class="muted">${t("projects.deleteWarning")}</p>`,
            confirmLabel: t("project.deleteTaskConfirm"),
        });
        if (!ok) return;
        try {
            await api("DELETE", `${base}/task/${encodeURIComponent(task.id)}`);
            forgetTask(p, task.id);
            toast(t("project.taskDeleted", { name: task.name }));
            tasks.reload();
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }

    async function createTask(body) {
        const task = await api("POST", `${base}/task`, { body });
        setDialog(null);
        toast(t("project.taskCreated", { name: task.name }));
        navigate(taskHref(p, task.id));
    }

    if (project.error) return html`<${ErrorNote} error=${project.error} onRetry=${project.reload} />`;
    if (!project.data) return html`<${Loading} />`;
    const pr = project.data;
    const list = tasks.data;
    return html`<section class="page project-page">
        <nav aria-label=${t("shell.breadcrumb")} class="breadcrumb">
            <ol>
                <li><${Link} href="/">${t("shell.projects")}</${Link}></li>
                <li aria-current="page">${pr.name}</li>
            </ol>
        </nav>
        <div class="page-head project-head">
            <div class="project-head-text">
                <h1>${pr.name}</h1>
                <p class=${pr.description ? "" : "muted"}>${pr.description || t("projects.noDescription")}</p>
                <p class="muted small">${t("projects.created", { date: formatDate(pr.created_at) })}</p>
            </div>
            <div class="actions">
                <button type="button" class="btn" onClick=${() => setDialog("edit")}>${t("project.edit")}</button>
                <button type="button" class="btn ghost danger-text" onClick=${removeProject}>${t("project.delete")}</button>
            </div>
        </div>
        <div class="section-head tasks-head">
            <h2>${t("project.tasks")}</h2>
            ${list?.length > 0 && html`<button type="button" class="btn primary"
                onClick=${() => setDialog("task")}>＋ ${t("project.newTask")}</button>`}
        </div>
        ${tasks.error && html`<${ErrorNote} error=${tasks.error} onRetry=${tasks.reload} />`}
        ${tasks.loading && !list && html`<${Loading} />`}
        ${list && list.length === 0 && html`<${Empty}>
            <div class="empty-art" aria-hidden="true">✎</div>
            <h3>${t("project.emptyTitle")}</h3>
            <p>${t("project.emptyText")}</p>
            <button type="button" class="btn primary" onClick=${() => setDialog("task")}>${t("project.createFirst")}</button>
        </${Empty}>`}
        ${list?.length > 0 && html`<ul class="task-list">
            ${list.map((task) => html`<${TaskRow} key=${task.id} projectId=${p} task=${task} onDelete=${removeTask} />`)}
        </ul>`}
        ${dialog === "edit" && html`<${ProjectDialog} project=${pr} onClose=${() => setDialog(null)}
            onSaved=${(saved) => { setDialog(null); project.setData(saved); forgetTask(p); toast(t("common.saved")); }} />`}
        ${dialog === "task" && html`<${Dialog} title=${t("project.newTaskTitle")} wide onClose=${() => setDialog(null)}>
            <${TaskEditor} task=${null} compact submitLabel=${t("project.createTask")} onSave=${createTask}
                onCancel=${() => setDialog(null)} />
        </${Dialog}>`}
    </section>`;
}
