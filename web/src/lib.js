// The one place pages take Preact from: components, hooks and `html`, the tagged template
// (htm) that stands in for JSX, since the interface runs as plain ES modules with no build step.
import { h, render, Fragment, createContext } from "../vendor/preact.mjs";
import {
    useState, useEffect, useRef, useMemo, useCallback, useContext, useReducer, useLayoutEffect,
} from "../vendor/preact-hooks.mjs";
import htm from "../vendor/htm.mjs";

export const html = htm.bind(h);
export {
    h, render, Fragment, createContext,
    useState, useEffect, useRef, useMemo, useCallback, useContext, useReducer, useLayoutEffect,
};

// Loads styles/<name>.css once; a page module awaits it at its top so it draws styled:
//   await loadStyle("samples");
const styles = new Map();
export function loadStyle(name) {
    if (!styles.has(name)) {
        styles.set(name, new Promise((resolve, reject) => {
            const link = document.createElement("link");
            link.rel = "stylesheet";
            link.href = new URL(`../styles/${name}.css`, import.meta.url).href;
            link.onload = resolve;
            link.onerror = () => reject(new Error(`style ${name} failed to load`));
            document.head.append(link);
        }));
    }
    return styles.get(name);
}
