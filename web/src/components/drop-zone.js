// A file drop zone: drag a file onto it, or choose one with the real file input inside it (a
// labelled control the keyboard reaches; the whole zone is its label, so a click anywhere opens
// the file chooser). onFile(file) gets the file; `accept` filters the chooser ("".csv,.jsonl").
import { formatNumber, t } from "../i18n.js";
import { html, useRef, useState } from "../lib.js";
import { fieldId } from "./form.js";

export function formatBytes(n) {
    if (n < 1024) return t("import.bytes", { n });
    if (n < 1024 * 1024) return `${formatNumber(n / 1024, { maximumFractionDigits: 1 })} KB`;
    return `${formatNumber(n / 1024 / 1024, { maximumFractionDigits: 1 })} MB`;
}

export function DropZone({ accept, file, onFile, disabled, title, hint }) {
    const [over, setOver] = useState(false);
    const id = useRef(fieldId("file")).current;
    const hintId = `${id}-hint`;
    function onDrop(ev) {
        ev.preventDefault();
        setOver(false);
        if (disabled) return;
        const f = ev.dataTransfer?.files?.[0];
        if (f) onFile(f);
    }
    function onDragOver(ev) {
        ev.preventDefault();
        if (!disabled) setOver(true);
    }
    const cls = ["drop-zone", over && "over", file && "has-file", disabled && "disabled"]
        .filter(Boolean).join(" ");
    return html`<div class=${cls} onDragOver=${onDragOver} onDragEnter=${onDragOver}
            onDragLeave=${() => setOver(false)} onDrop=${onDrop}>
        <input type="file" id=${id} class="drop-input" accept=${accept} disabled=${disabled}
            aria-describedby=${hintId}
            onChange=${(ev) => { const f = ev.target.files?.[0]; if (f) onFile(f); ev.target.value = ""; }} />
        <label for=${id} class="drop-label">
            <span class="drop-icon" aria-hidden="true">⇪</span>
            <span class="drop-title">${title}</span>${" "}
            <span class="drop-choose">${t("import.choose")}</span>
        </label>
        <p class="hint" id=${hintId}>${hint}</p>
        ${file && html`<p class="drop-file"><span class="mono">${file.name}</span>
            <span class="muted">${formatBytes(file.size)}</span></p>`}
    </div>`;
}
