// Small shared pieces: loading and empty states, an API error shown with the field it names,
// the page title.
import { t } from "../i18n.js";
import { html, useEffect } from "../lib.js";

export function Loading({ label }) {
    return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>
        ${label || t("common.loading")}</p>`;
}

export function Empty({ children }) {
    return html`<div class="empty">${children}</div>`;
}

// An error from api(): the server's detail, and the field it concerns when it names one.
export function ErrorNote({ error, onRetry }) {
    if (!error) return null;
    const status = error.status ? ` (${error.status})` : "";
    return html`<div class="error-note" role="alert">
        <strong>${t("common.error")}${status}</strong>
        <span class="detail">${error.message}</span>
        ${error.field && html`<span class="field">${t("common.field")}: <code>${error.field}</code></span>`}
        ${onRetry && html`<button type="button" class="btn small" onClick=${onRetry}>${t("common.retry")}</button>`}
    </div>`;
}

export function useTitle(text) {
    useEffect(() => {
        document.title = text ? `${text} · Hetu` : "Hetu";
    }, [text]);
}
