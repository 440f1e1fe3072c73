// The projects: cards with name, description and creation date; create and edit in a dialog,
// delete after a confirmation naming the project and how many tasks go with it.
import { api } from "../api.js";
import { confirmProjectDelete, ProjectDialog } from "../components/project-dialog.js";
import { Empty, ErrorNote, Loading, useTitle } from "../components/status.js";
import { toast } from "../components/toast.js";
import { useApi } from "../data.js";
import { formatDate, t } from "../i18n.js";
import { html, loadStyle, useState } from "../lib.js";
import { Link, navigate } from "../router.js";

await loadStyle("projects");

export function projectHref(id) {
    return `/projects/${encodeURIComponent(id)}`;
}

function ProjectCard({ project, onEdit, onDelete }) {
    const headingId = `project-${project.id}`;
    return html`<article class="card project-card" aria-labelledby=${headingId}>
        <div class="project-card-top">
            <span class="project-mark" aria-hidden="true">${(project.name || "?").slice(0, 1).toUpperCase()}</span>
            <h2 id=${headingId}><${Link} href=${projectHref(project.id)}>${project.name}</${Link}></h2>
        </div>
        <p class=${project.description ? "project-desc" : "project-desc muted"}>
            ${project.description || t("projects.noDescription")}</p>
        <div class="project-card-foot">
            <span class="muted small">${t("projects.created", { date: formatDate(project.created_at) })}</span>
            <span class="row-actions">
                <button type="button" class="btn small ghost" onClick=${() => onEdit(project)}
                    aria-label=${t("projects.editNamed", { name: project.name })}>${t("common.edit")}</button>
                <button type="button" class="btn small ghost danger-text" onClick=${() => onDelete(project)}
                    aria-label=${t("projects.deleteNamed", { name: project.name })}>${t("common.delete")}</button>
            </span>
        </div>
    </article>`;
}

export default function Projects() {
    useTitle(t("shell.projects"));
    const list = useApi((signal) => api("GET", "/api/projects", { signal }), []);
    const [editing, setEditing] = useState(null); // null, "new" or a project

    async function remove(project) {
        if (!(await confirmProjectDelete(project))) return;
        try {
            await api("DELETE", `/api/projects/${encodeURIComponent(project.id)}`);
            toast(t("projects.deleted", { name: project.name }));
            list.reload();
        } catch (err) {
            toast(err.message, { kind: "error" });
        }
    }

    function saved(project) {
        const wasNew = editing === "new";
        setEditing(null);
        if (wasNew) return navigate(projectHref(project.id));
        toast(t("common.saved"));
        list.reload();
    }

    const projects = list.data?.projects;
    return html`<section class="page projects-page">
        <div class="page-head">
            <div>
                <h1>${t("shell.projects")}</h1>
                <p class="muted">${t("projects.lead")}</p>
            </div>
            ${projects?.length > 0 && html`<div class="actions">
                <button type="button" class="btn primary" onClick=${() => setEditing("new")}>＋ ${t("projects.new")}</button>
            </div>`}
        </div>
        ${list.error && html`<${ErrorNote} error=${list.error} onRetry=${list.reload} />`}
        ${list.loading && !projects && html`<${Loading} />`}
        ${projects && projects.length === 0 && html`<${Empty}>
            <div class="empty-art" aria-hidden="true">▦</div>
            <h2>${t("projects.emptyTitle")}</h2>
            <p>${t("projects.emptyText")}</p>
            <button type="button" class="btn primary" onClick=${() => setEditing("new")}>${t("projects.createFirst")}</button>
        </${Empty}>`}
        ${projects?.length > 0 && html`<div class="grid project-grid">
            ${projects.map((p) => html`<${ProjectCard} key=${p.id} project=${p} onEdit=${setEditing} onDelete=${remove} />`)}
        </div>`}
        ${editing && html`<${ProjectDialog} project=${editing === "new" ? null : editing}
            onClose=${() => setEditing(null)} onSaved=${saved} />`}
    </section>`;
}
