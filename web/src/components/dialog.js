// Modal dialogs on the native <dialog> element (focus moves in and comes back, Escape closes).
// confirmDialog() asks before something is destroyed and resolves true or false.
import { t } from "../i18n.js";
import { html, render, useEffect, useRef } from "../lib.js";

export function Dialog({ title, onClose, children, wide }) {
    const ref = useRef(null);
    useEffect(() => {
        const d = ref.current;
        d.showModal();
        return () => d.open && d.close();
    }, []);
    return html`<dialog ref=${ref} class=${wide ? "dialog wide" : "dialog"} aria-labelledby="dialog-title"
            onCancel=${(ev) => { ev.preventDefault(); onClose(); }}>
        <h2 id="dialog-title">${title}</h2>
        ${children}
    </dialog>`;
}

export function confirmDialog({ title, body, confirmLabel, danger = true }) {
    return new Promise((resolve) => {
        const host = document.createElement("div");
        document.body.append(host);
        const done = (answer) => {
            render(null, host);
            host.remove();
            resolve(answer);
        };
        render(html`<${Dialog} title=${title} onClose=${() => done(false)}>
            <div class="dialog-body">${body}</div>
            <div class="actions">
                <button type="button" class="btn" onClick=${() => done(false)}>${t("common.cancel")}</button>
                <button type="button" class=${danger ? "btn danger" : "btn primary"}
                    onClick=${() => done(true)}>${confirmLabel || t("common.delete")}</button>
            </div>
        </${Dialog}>`, host);
    });
}
