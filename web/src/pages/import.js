// Placeholder until this page is built.
import { html } from "../lib.js";

export default function Page() {
    return html`<section class="page"><h1>import</h1></section>`;
}
