// Entry point: draws the application into #app.
import { App } from "./app.js";
import { html, render } from "./lib.js";

render(html`<${App} />`, document.getElementById("app"));
