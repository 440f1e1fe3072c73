/* SPDX-License-Identifier: MIT */
/*
 * GET /api/dataset/projects/{p}/tasks/{t}/topics: the topic tree as nested JSON,
 * {"name": "root", "path": [], "sample_count": N, "children": [...]}, where each node's
 * sample_count counts the samples under it and under its descendants. Topic paths that samples
 * carry but the tree lacks (saved with an arbitrary topic_path) appear as nodes too.
 */
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "http/topic_tree.h"
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
