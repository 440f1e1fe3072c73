// A project's name and description in a dialog, for creating one or editing it; the server's
// message shows under the field it names. onSaved(project) gets the server's answer.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { html, useState } from "../lib.js";
import { confirmDialog, Dialog } from "./dialog.js";
import { Field } from "./form.js";
import { ErrorNote } from "./status.js";

export function ProjectDialog({ project, onClose, onSaved }) {
    const [name, setName] = useState(project?.name || "");
    const [description, setDescription] = useState(project?.description || "");
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);

    async function submit(ev) {
        ev.preventDefault();
        setBusy(true);
        setError(null);
        try {
            const body = { name: name.trim(), description };
            const saved = project
                ? await api("PATCH", `/api/projects/${encodeURIComponent(project.id)}`, { body })
                : await api("POST", "/api/project", { body });
            onSaved(saved);
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    }

    return html`<${Dialog} title=${t(project ? "projects.editTitle" : "projects.newTitle")} onClose=${onClose}>
        <form onSubmit=${submit} class="project-form" novalidate>
            <${Field} label=${t("common.name")} name="name" error=${error}>
                ${(id, describedBy, invalid) => html`<input id=${id} type="text" value=${name} autofocus
                    aria-describedby=${describedBy} aria-invalid=${invalid ? "true" : undefined}
                    placeholder=${t("projects.namePlaceholder")} autocomplete="off"
                    onInput=${(ev) => setName(ev.currentTarget.value)} />`}
            </${Field}>
            <${Field} label=${t("common.description")} name="description" error=${error}
                hint=${t("projects.descriptionHint")}>
                ${(id, describedBy, invalid) => html`<textarea id=${id} value=${description} rows="4"
                    aria-describedby=${describedBy} aria-invalid=${invalid ? "true" : undefined}
                    onInput=${(ev) => setDescription(ev.currentTarget.value)}></textarea>`}
            </${Field}>
            ${error && !error.field && html`<${ErrorNote} error=${error} />`}
            <div class="actions">
                <button type="button" class="btn" onClick=${onClose}>${t("common.cancel")}</button>
                <button type="submit" class="btn primary" disabled=${busy}>
                    ${busy ? t("common.saving") : t(project ? "common.save" : "common.create")}</button>
            </div>
        </form>
    </${Dialog}>`;
}

// Asks before a project goes, naming it and how many tasks go with it (counted now).
export async function confirmProjectDelete(project) {
    let n = null;
    try {
        const tasks = await api("GET", `/api/projects/${encodeURIComponent(project.id)}/tasks`);
        n = tasks.length;
    } catch {
        n = null;
    }
    return confirmDialog({
        title: t("projects.deleteTitle"),
        body: html`<p>${n === null ? t("projects.deleteBodyUnknown", { name: project.name })
            : n === 0 ? t("projects.deleteBodyEmpty", { name: project.name })
            : t("projects.deleteBody", { name: project.name, n })}</p>
            <p class="muted">${t("projects.deleteWarning")}</p>`,
        confirmLabel: t("projects.deleteConfirm"),
    });
}
