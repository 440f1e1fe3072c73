// The interface talks to the same HTTP API that scripts use. api() sends JSON and answers the
// parsed body, or throws an ApiError carrying the server's {detail, code, field}. When API keys
// are on, the key the user signed in with (kept in sessionStorage, so it goes when the tab
// closes) rides along as a bearer token; a 401 sends the user to the sign-in page.
import { createParser } from "../vendor/eventsource-parser.mjs";

const KEY_STORE = "hetu.key";
const unauthorized = new Set();

export class ApiError extends Error {
    constructor(status, body) {
        const detail = body && typeof body === "object" ? body.detail : null;
        super(typeof detail === "string" ? detail : `HTTP ${status}`);
        this.status = status;
        this.code = body?.code ?? null;
        this.field = body?.field ?? null;
        this.body = body;
    }
}

export function apiKey() {
    return sessionStorage.getItem(KEY_STORE);
}

export function setApiKey(key) {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
}

// fn(error) is called on every 401 (the app shows the sign-in page).
export function onUnauthorized(fn) {
    unauthorized.add(fn);
    return () => unauthorized.delete(fn);
}

// "/api/x" + {a: 1, b: null, c: [1, 2]} -> "/api/x?a=1&c=1&c=2" (null and undefined left out).
export function withQuery(path, query) {
    if (!query) return path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
        if (v === null || v === undefined || v === "") continue;
        for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
    }
    const s = q.toString();
    return s ? `${path}${path.includes("?") ? "&" : "?"}${s}` : path;
}

export function authHeaders(extra) {
    const headers = { ...(extra || {}) };
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    return headers;
}

async function failure(res) {
    let body = null;
    try {
        body = await res.json();
    } catch {
        body = null;
    }
    const err = new ApiError(res.status, body);
    if (res.status === 401) for (const fn of unauthorized) fn(err);
    return err;
}

// api("GET", "/api/projects") -> the JSON answer. opts: {body, query, signal, headers, raw}.
// With raw the Response itself is answered (for headers or streaming), after the status check.
export async function api(method, path, opts = {}) {
    const headers = authHeaders(opts.headers);
    let body;
    if (opts.body !== undefined) {
        if (opts.body instanceof FormData) {
            body = opts.body;
        } else {
            headers["Content-Type"] = "application/json";
            body = JSON.stringify(opts.body);
        }
    }
    const res = await fetch(withQuery(path, opts.query), {
        method, headers, body, signal: opts.signal,
    });
    if (!res.ok) throw await failure(res);
    if (opts.raw) return res;
    if (res.status === 204) return null;
    return res.json();
}

// Paths of a task's resources: the gateway's two prefixes and Hetu's own.
export function taskPaths(projectId, taskId) {
    const p = encodeURIComponent(projectId);
    const t = encodeURIComponent(taskId);
    return {
        project: `/api/projects/${p}`,
        task: `/api/projects/${p}/tasks/${t}`, // GET; runs, export, stats, splits
        taskEdit: `/api/projects/${p}/task/${t}`, // PATCH, DELETE (the gateway's singular)
        dataset: `/api/dataset/projects/${p}/tasks/${t}`, // generation, topics, imports, jobs
        finetune: `/api/finetune/projects/${p}/tasks/${t}`, // dataset splits
    };
}

// Follows a text/event-stream (a job's progress) with fetch, so the API key can ride in a
// header, which EventSource cannot send. onEvent({event, data, id}) for each event, data
// parsed as JSON when it is JSON. Resolves when the stream ends; abort with the signal.
export async function followEvents(path, onEvent, signal) {
    const res = await fetch(path, {
        headers: authHeaders({ Accept: "text/event-stream" }), signal,
    });
    if (!res.ok) throw await failure(res);
    const parser = createParser({
        onEvent(ev) {
            let data = ev.data;
            try {
                data = JSON.parse(ev.data);
            } catch {
                /* plain text data stays text */
            }
            onEvent({ event: ev.event || "message", data, id: ev.id });
        },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
        for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            parser.feed(value);
        }
    } catch (err) {
        if (err.name !== "AbortError") throw err;
    }
}

// Uploads a file as multipart part "file" with progress (fetch cannot report upload progress).
// onProgress(sentBytes, totalBytes). Resolves to the parsed answer (with `skipped` from an
// X-Hetu-Skipped header); rejects with ApiError.
export function upload(path, file, onProgress, signal) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", path);
        for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
        xhr.responseType = "json";
        xhr.upload.onprogress = (ev) => onProgress?.(ev.loaded, ev.total);
        xhr.onload = () => {
            if (xhr.status >= 200 && xhr.status < 300) {
                // dedup=skip's count of left-out duplicates comes as a header
                const skipped = xhr.getResponseHeader("X-Hetu-Skipped");
                const body = xhr.response;
                if (skipped !== null && body && typeof body === "object" && !("skipped" in body))
                    body.skipped = Number(skipped);
                return resolve(body);
            }
            const err = new ApiError(xhr.status, xhr.response);
            if (xhr.status === 401) for (const fn of unauthorized) fn(err);
            reject(err);
        };
        xhr.onerror = () => reject(new ApiError(0, { detail: "network error" }));
        xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
        signal?.addEventListener("abort", () => xhr.abort());
        const form = new FormData();
        form.append("file", file);
        xhr.send(form);
    });
}

// Saves what a GET answers as a file: a plain link when no key is needed (the browser streams
// it to disk), else fetched with the key and handed over as a blob.
export async function download(path, fallbackName) {
    if (!apiKey()) {
        const a = document.createElement("a");
        a.href = path;
        a.download = fallbackName || "";
        document.body.append(a);
        a.click();
        a.remove();
        return;
    }
    const res = await api("GET", path, { raw: true });
    const disposition = res.headers.get("Content-Disposition") || "";
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = m ? decodeURIComponent(m[1]) : fallbackName || "download";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}
