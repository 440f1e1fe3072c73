// Form controls with their label and the server's message for that field. Pass `error` (an
// ApiError): the message shows under the control whose `name` the error's field names.
import { html } from "../lib.js";

let uid = 0;
export function fieldId(name) {
    return `f-${name.replace(/[^\w-]/g, "-")}-${++uid}`;
}

export function fieldError(error, name) {
    if (!error || !error.field) return null;
    return error.field === name || error.field.startsWith(`${name}.`) ||
        error.field.startsWith(`${name}[`)
        ? error.message
        : null;
}

// <Field label="Name" name="name" error=${err}>${(id, describedBy) => html`<input id=${id} ...>`}</Field>
export function Field({ label, name, error, hint, children }) {
    const id = fieldId(name);
    const msg = fieldError(error, name);
    const hintId = hint ? `${id}-hint` : null;
    const errId = msg ? `${id}-err` : null;
    const describedBy = [hintId, errId].filter(Boolean).join(" ") || undefined;
    return html`<div class=${msg ? "field invalid" : "field"}>
        <label for=${id}>${label}</label>
        ${children(id, describedBy, Boolean(msg))}
        ${hint && html`<p class="hint" id=${hintId}>${hint}</p>`}
        ${msg && html`<p class="field-error" id=${errId}>${msg}</p>`}
    </div>`;
}
