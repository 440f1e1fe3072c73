// Topic paths in the text form the API's topic_path query takes: names joined by "/", or by
// ">>>>>" when a name holds a "/" (the server splits on ">>>>>" when the text has it, else on
// "/"). The root (the task as a whole) is the empty path and the empty text.
export const SEP_LONG = ">>>>>";

export function topicText(path) {
    if (!path || path.length === 0) return "";
    return path.join(path.some((n) => n.includes("/")) ? SEP_LONG : "/");
}

export function parseTopicText(text) {
    if (!text) return [];
    const names = text.split(text.includes(SEP_LONG) ? SEP_LONG : "/").map((s) => s.trim());
    return names.filter((s) => s !== "");
}

// The same path shown to people: "Billing › Refunds".
export function topicLabel(path, rootLabel) {
    return path && path.length ? path.join(" › ") : rootLabel;
}
