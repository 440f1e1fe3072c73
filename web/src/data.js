// Loading data in components: useApi runs an async function when its inputs change and keeps
// {data, error, loading}; an answer that arrives after the inputs changed again is dropped.
import { api, taskPaths } from "./api.js";
import { useCallback, useEffect, useRef, useState } from "./lib.js";

export function useApi(fn, deps) {
    const [state, setState] = useState({ data: null, error: null, loading: true });
    const seq = useRef(0);
    const run = useCallback(() => {
        const mine = ++seq.current;
        const ctrl = new AbortController();
        setState((s) => ({ ...s, loading: true, error: null }));
        fn(ctrl.signal).then(
            (data) => mine === seq.current && setState({ data, error: null, loading: false }),
            (error) => {
                if (mine !== seq.current || error.name === "AbortError") return;
                setState({ data: null, error, loading: false });
            },
        );
        return ctrl;
    }, deps); // eslint-disable-line react-hooks/exhaustive-deps
    useEffect(() => {
        const ctrl = run();
        return () => {
            seq.current++;
            ctrl.abort();
        };
    }, [run]);
    return { ...state, reload: run, setData: (data) => setState((s) => ({ ...s, data })) };
}

// The project and task a task page belongs to, loaded once per pair and shared by the pages
// (forget() after an edit).
const taskCache = new Map();
const forgotten = new Set();

// fn(projectId, taskId) after forgetTask(): the task frame reloads what it shows.
export function onTaskForgotten(fn) {
    forgotten.add(fn);
    return () => forgotten.delete(fn);
}

export function loadTask(projectId, taskId) {
    const key = `${projectId}/${taskId}`;
    if (!taskCache.has(key)) {
        const paths = taskPaths(projectId, taskId);
        const p = Promise.all([api("GET", paths.project), api("GET", paths.task)]).then(
            ([project, task]) => ({ project, task }),
        );
        p.catch(() => taskCache.delete(key));
        taskCache.set(key, p);
    }
    return taskCache.get(key);
}

export function forgetTask(projectId, taskId) {
    if (taskId) taskCache.delete(`${projectId}/${taskId}`);
    else for (const k of [...taskCache.keys()]) if (k.startsWith(`${projectId}/`)) taskCache.delete(k);
    for (const fn of forgotten) fn(projectId, taskId);
}
