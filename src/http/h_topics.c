/* SPDX-License-Identifier: MIT */
/*
 * GET /api/dataset/projects/{p}/tasks/{t}/topics: the topic tree as nested JSON,
 * {"name": "root", "path": [], "sample_count": N, "children": [...]}, where each node's
 * sample_count counts the samples under it and under its descendants. Topic paths that samples
 * carry but the tree lacks (saved with an arbitrary topic_path) appear as nodes too.
 *
 * DELETE .../topics?node_path=["a","b"][&samples=delete]: removes that node and its subtree from
 * the stored tree; the samples under it go too with samples=delete, else they make it a 409.
 * The store does it in one write, so a sample saved meanwhile is either counted or deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "gen/taskrun.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "http/topic_tree.h"
#include "util/json.h"
#include "util/banned.h"

int h_topics(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct topic_tree *t = topic_tree_new();
    struct task task = {0};
    int r;

    if (!t)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if ((r = load_task(req, &task, e)) == 0 &&
        (r = store_topic_list(app->store, task.id, topic_tree_add_topic, t, e)) == 0 &&
        (r = store_topic_counts(app->store, task.id, topic_tree_add_count, t, e)) == 0) {
        if (topic_tree_too_big(t))
            r = err_set(e, HE_TOO_LARGE, NULL, "the topic tree has more than %d nodes",
                        TREE_MAX_NODES);
        else
            *ret_body = topic_tree_render(t);
    }
    topic_tree_free(t);
    task_done(&task);
    return r;
}

/* The names of ?node_path (a JSON list) as a topic key (malloc'd in *ret); the root is refused. */
static int node_key(const char *q, char **ret, struct err *e)
{
    struct json_object *list = NULL, *body = NULL, *path = NULL;
    struct err parse_err = ERR_INIT;
    char **names = NULL;
    size_t n = 0;
    int r;

    if (!q)
        return err_set(e, HE_BAD_REQUEST, "node_path",
                       "node_path is required: a JSON list of topic names");
    if (json_parse(q, strlen(q), &list, &parse_err) < 0 ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(list);
        return err_set(e, HE_BAD_REQUEST, "node_path",
                       "node_path must be a JSON list of topic names, such as [\"a\", \"b\"]");
    }
    body = json_object_new_object();
    json_object_object_add(body, "node_path", list);
    if ((r = gen_parse_topic_path(body, NULL, "node_path", true, &path, e)) == 0) {
        n = json_object_array_length(path);
        if (n == 0)
            r = err_set(e, HE_BAD_REQUEST, "node_path",
                        "node_path names the root, which cannot be deleted");
        else if (!(names = calloc(n, sizeof(*names))))
            r = err_set(e, HE_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; r == 0 && i < n; i++)
        names[i] = (char *)json_object_get_string(json_object_array_get_idx(path, i));
    if (r == 0 && !(*ret = taskrun_topic_key(names, n)))
        r = err_set(e, HE_NOMEM, NULL, NULL);
    free(names);
    json_object_put(path);
    json_object_put(body);
    return r;
}

int h_topic_delete(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    const char *samples = http_req_query(req, "samples");
    struct topic_delete d = {.task_id = http_req_param(req, "task_id")};
    struct task task = {0};
    char *key = NULL, *shown = NULL;
    int r;

    if ((r = load_task(req, &task, e)) < 0)
        return r;
    task_done(&task);
    if (samples && strcmp(samples, "delete") != 0)
        return err_set(e, HE_BAD_REQUEST, "samples",
                       "samples must be delete (delete the samples under the topic too)");
    if ((r = node_key(http_req_query(req, "node_path"), &key, e)) < 0)
        return r;
    d.topic_key = key;
    d.with_samples = samples != NULL;
    r = store_topic_delete(http_req_app(req)->store, &d, e);
    if ((r == HE_CONFLICT || r == HE_NOT_FOUND) && (shown = taskrun_topic_string(key))) {
        err_clear(e);
        r = r == HE_CONFLICT
                ? err_set(e, HE_CONFLICT, "samples",
                          "%lld samples are under topic %s: samples=delete deletes them with it",
                          (long long)d.samples_under, shown)
                : err_set(e, HE_NOT_FOUND, "node_path", "node_path %s: no such topic", shown);
    }
    free(shown);
    free(key);
    if (r < 0)
        return r;
    *ret_body = json_object_new_object();
    json_object_object_add(*ret_body, "deleted_topics", json_object_new_int64(d.deleted_topics));
    json_object_object_add(*ret_body, "deleted_samples", json_object_new_int64(d.deleted_samples));
    return 0;
}
