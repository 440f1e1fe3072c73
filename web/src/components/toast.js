// Short notices ("Saved", "3 samples failed") in a polite live region, so screen readers hear
// them too. toast(text, {kind: "ok"|"error"}).
import { html, useEffect, useState } from "../lib.js";

const listeners = new Set();
let next = 1;

export function toast(text, { kind = "ok", ms = 4000 } = {}) {
    const item = { id: next++, text, kind };
    for (const fn of listeners) fn((list) => [...list, item]);
    setTimeout(() => {
        for (const fn of listeners) fn((list) => list.filter((x) => x.id !== item.id));
    }, ms);
}

export function Toasts() {
    const [list, setList] = useState([]);
    useEffect(() => {
        listeners.add(setList);
        return () => listeners.delete(setList);
    }, []);
    return html`<div class="toasts" role="status" aria-live="polite">
        ${list.map((x) => html`<div key=${x.id} class=${`toast ${x.kind}`}>${x.text}</div>`)}
    </div>`;
}
