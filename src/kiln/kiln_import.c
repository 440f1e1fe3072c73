/* SPDX-License-Identifier: MIT */
/*
 * Importing a Kiln project folder: the walk. As Kiln lists a record's children
 * (KilnParentedModel.iterate_children_paths_of_parent_path), every subfolder of tasks/ holding a
 * task.kiln is a task, every subfolder of a task's runs/ holding a task_run.kiln a run, and of its
 * dataset_splits/ holding a dataset_split.kiln a split; subfolders in name order.
 *
 * Every file is read and checked first (kiln_read.c), with the ids no two records of a kind may
 * share; then the whole project is stored in one write (store_import), which refuses ids already
 * stored: a folder that fails anywhere stores nothing. The project, tasks and dataset splits are
 * held from the first reading to the write; a run is held only while it is checked, and read
 * again inside the write (on the store's writer thread, which meanwhile writes nothing else).
 *
 * Paths: the import root and the folder are resolved (realpath), and every file again before it
 * is opened, so a symbolic link leading out of the root is refused wherever it sits; the file
 * itself is opened with O_NOFOLLOW. Sizes: one file is at most KILN_FILE_MAX bytes and a folder's
 * files together at most KILN_TOTAL_MAX; at most KILN_MAX_TASKS tasks, KILN_MAX_RUNS runs (a path
 * and an id kept of each) and KILN_MAX_SPLITS splits.
 */
#include "kiln/kiln.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

/* A record's id and the file it came from, for ids two files share. */
struct seen {
    char kind; /* 'p', 't', 'r', 's' */
    char id[ID_LEN];
    const char *rel;
};

/* A run's file, read once to check it and again to store it, and its task (an index of tasks). */
struct run_file {
    const char *rel;
    size_t task;
};

struct walk {
    const char *root; /* the import root, resolved */
    char dir[PATH_MAX];
    struct kiln_ctx k;
    struct kiln_ids ids;
    struct arena mem;     /* the records kept and every path */
    struct arena scratch; /* one run at a time */
    uint64_t bytes;       /* read so far */
    struct project project;
    struct task *tasks;
    struct run_file *runs;
    struct dataset_split *splits;
    const struct dataset_split_part **parts;
    size_t *nparts;
    size_t ntasks, nruns, nsplits;
    size_t tasks_cap, runs_cap, splits_cap;
    size_t run_ids; /* ids the runs' files left to Kiln's defaults */
    struct seen *seen;
    size_t nseen;
    struct run run; /* the run being stored */
    size_t next;    /* the next run to store */
};

/* A file (or folder) of the project that cannot be read: the error's field is its path. */
static int refuse(struct err *e, const char *rel, const char *what)
{
    return err_set(e, HE_BAD_REQUEST, rel, "%s: %s", rel, what);
}

/* Whether path (resolved) is root or inside it. */
static bool inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1) /* "/" */
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The bytes of an open regular file of at most KILN_FILE_MAX bytes, NUL-terminated (malloc'd). */
static int slurp(struct walk *w, int fd, const char *rel, char **ret, size_t *ret_len,
                 struct err *e)
{
    struct stat st;
    char *buf;
    size_t n = 0;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return refuse(e, rel, "is not a regular file");
    if ((uint64_t)st.st_size > KILN_FILE_MAX)
        return err_set(e, HE_TOO_LARGE, rel, "%s: larger than %u bytes", rel, KILN_FILE_MAX);
    if ((w->bytes += (uint64_t)st.st_size) > KILN_TOTAL_MAX)
        return err_set(e, HE_TOO_LARGE, "project_path",
                       "the project's files hold more than %llu bytes", KILN_TOTAL_MAX);
    if (!(buf = malloc((size_t)st.st_size + 1)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    while (n < (size_t)st.st_size) {
        ssize_t got = read(fd, buf + n, (size_t)st.st_size - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            free(buf);
            return refuse(e, rel, got < 0 ? strerror(errno) : "changed while it was read");
        }
        n += (size_t)got;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

/* The JSON object in the file rel (relative to the folder), which must resolve inside the root. */
static int read_json(struct walk *w, const char *rel, struct json_object **ret, struct err *e)
{
    char path[PATH_MAX], real[PATH_MAX];
    struct err perr = ERR_INIT;
    char *text = NULL;
    size_t len = 0;
    int fd, r;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, rel) >= sizeof(path))
        return refuse(e, rel, "the path is too long");
    if (!realpath(path, real))
        return refuse(e, rel, strerror(errno));
    if (!inside(w->root, real))
        return refuse(e, rel, "leads outside the import root");
    if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return refuse(e, rel, strerror(errno));
    r = slurp(w, fd, rel, &text, &len, e);
    close(fd);
    if (r < 0)
        return r;
    r = json_parse(text, len, ret, &perr);
    free(text);
    if (r < 0)
        return err_set(e, HE_BAD_JSON, rel, "%s: %s", rel, perr.msg);
    if (!json_object_is_type(*ret, json_type_object)) {
        json_object_put(*ret);
        return refuse(e, rel, "must hold a JSON object");
    }
    return 0;
}

/* Notes that the file rel holds a record of kind with id. */
static int see(struct walk *w, char kind, const char *id, const char *rel, struct err *e)
{
    if (w->nseen % 1024 == 0) {
        struct seen *more = realloc(w->seen, (w->nseen + 1024) * sizeof(*more));
        if (!more)
            return err_set(e, HE_NOMEM, NULL, NULL);
        w->seen = more;
    }
    w->seen[w->nseen].kind = kind;
    memcpy(w->seen[w->nseen].id, id, ID_LEN);
    w->seen[w->nseen++].rel = rel;
    return 0;
}

static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    return x->kind != y->kind ? x->kind - y->kind : strcmp(x->id, y->id);
}

/* Two records of a kind with one id: Kiln would find either under that id. */
static int check_unique(struct walk *w, struct err *e)
{
    qsort(w->seen, w->nseen, sizeof(*w->seen), seen_cmp);
    for (size_t i = 1; i < w->nseen; i++)
        if (seen_cmp(&w->seen[i - 1], &w->seen[i]) == 0)
            return err_set(e, HE_BAD_REQUEST, "id", "%s and %s have the same id %s",
                           w->seen[i - 1].rel, w->seen[i].rel, w->seen[i].id);
    return 0;
}

/* Makes room for element n of the arrays arr[0..count) of the sizes given, whose capacity is
 * *cap (16, then doubling), at most max elements. */
static int grow(void **arr, const size_t *sizes, size_t count, size_t *cap, size_t n, size_t max,
                const char *what, struct err *e)
{
    size_t want = *cap ? 2 * *cap : 16;

    if (n >= max)
        return err_set(e, HE_TOO_LARGE, "project_path", "the project has more than %zu %s", max,
                       what);
    if (n < *cap)
        return 0;
    for (size_t i = 0; i < count; i++) {
        void *more = realloc(arr[i], want * sizes[i]);
        if (!more)
            return err_set(e, HE_NOMEM, NULL, NULL);
        arr[i] = more;
    }
    *cap = want;
    return 0;
}

/* The paths "rel/SUB/file" of the subfolders SUB of rel holding a file named file, in name
 * order, in w->mem. A missing rel has none. */
static int children(struct walk *w, const char *rel, const char *file, const char ***ret,
                    size_t *ret_n, struct err *e)
{
    char path[PATH_MAX];
    struct dirent **names = NULL;
    const char **list;
    struct stat st;
    int n;

    *ret_n = 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, rel) >= sizeof(path))
        return refuse(e, rel, "the path is too long");
    if ((n = scandir(path, &names, NULL, alphasort)) < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : refuse(e, rel, strerror(errno));
    list = arena_alloc(&w->mem, ((size_t)n + 1) * sizeof(*list));
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char *child = NULL;
        size_t len = strlen(rel) + strlen(name) + strlen(file) + 3;

        if (list && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
            (child = arena_alloc(&w->mem, len))) {
            snprintf(child, len, "%s/%s/%s", rel, name, file);
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, child) < sizeof(path) &&
                stat(path, &st) == 0 && S_ISREG(st.st_mode))
                list[(*ret_n)++] = child;
        }
        free(names[i]);
    }
    free(names);
    if (!list)
        return err_set(e, HE_NOMEM, NULL, NULL);
    *ret = list;
    return 0;
}

/* Reads the run in rel into w->run (strings in w->scratch, emptied first). */
static int load_run(struct walk *w, const char *rel, size_t task, struct err *e)
{
    struct json_object *o = NULL;
    int r;

    arena_done(&w->scratch);
    if ((r = read_json(w, rel, &o, e)) < 0)
        return r;
    w->k.mem = &w->scratch;
    w->k.rel = rel;
    r = kiln_read_run(&w->k, o, w->tasks[task].id, &w->run, e);
    w->k.mem = &w->mem;
    json_object_put(o);
    return r;
}

/* Checks the run in rel and notes its file and id; the run itself is read again to be stored. */
static int read_run(struct walk *w, const char *rel, size_t task, struct err *e)
{
    size_t size = sizeof(*w->runs), taken = w->ids.count;
    int r;

    if ((r = grow((void **)&w->runs, &size, 1, &w->runs_cap, w->nruns, KILN_MAX_RUNS, "runs", e)) <
            0 ||
        (r = load_run(w, rel, task, e)) < 0)
        return r;
    w->run_ids += w->ids.count - taken;
    w->runs[w->nruns++] = (struct run_file){rel, task};
    return see(w, 'r', w->run.id, rel, e);
}

/* store_import's next_run: each run read again, on the store's writer thread. */
static int next_run(void *ud, struct run **ret, struct err *e)
{
    struct walk *w = ud;
    int r;

    *ret = NULL;
    if (w->next == w->nruns)
        return 0;
    if ((r = load_run(w, w->runs[w->next].rel, w->runs[w->next].task, e)) < 0)
        return r;
    w->next++;
    *ret = &w->run;
    return 0;
}

static int read_split(struct walk *w, const char *rel, size_t task, struct err *e)
{
    void *arrs[] = {w->splits, w->parts, w->nparts};
    const size_t sizes[] = {sizeof(*w->splits), sizeof(*w->parts), sizeof(*w->nparts)};
    struct dataset_split_part *parts;
    struct json_object *o = NULL;
    int r = grow(arrs, sizes, 3, &w->splits_cap, w->nsplits, KILN_MAX_SPLITS, "dataset splits", e);

    w->splits = arrs[0];
    w->parts = arrs[1];
    w->nparts = arrs[2];
    if (r < 0 || (r = read_json(w, rel, &o, e)) < 0)
        return r;
    w->k.rel = rel;
    r = kiln_read_split(&w->k, o, w->tasks[task].id, &w->splits[w->nsplits], &parts,
                        &w->nparts[w->nsplits], e);
    json_object_put(o);
    if (r < 0)
        return r;
    w->parts[w->nsplits] = parts;
    return see(w, 's', w->splits[w->nsplits++].id, rel, e);
}

typedef int (*read_fn)(struct walk *w, const char *rel, size_t task, struct err *e);

/* Reads each child file of the task whose task.kiln is task_rel: <task folder>/SUB/NAME/file. */
static int read_children(struct walk *w, const char *task_rel, const char *sub, const char *file,
                         read_fn read, size_t task, struct err *e)
{
    char base[PATH_MAX];
    const char **list = NULL;
    size_t n = 0;
    int r;

    snprintf(base, sizeof(base), "%.*s/%s", (int)(strrchr(task_rel, '/') - task_rel), task_rel,
             sub);
    if ((r = children(w, base, file, &list, &n, e)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = read(w, list[i], task, e)) < 0)
            return r;
    return 0;
}

/* The task in rel (".../task.kiln"), then its runs and dataset splits. */
static int read_task(struct walk *w, const char *rel, struct err *e)
{
    size_t size = sizeof(*w->tasks);
    struct json_object *o = NULL;
    struct task *t;
    int r;

    if ((r = grow((void **)&w->tasks, &size, 1, &w->tasks_cap, w->ntasks, KILN_MAX_TASKS, "tasks",
                  e)) < 0 ||
        (r = read_json(w, rel, &o, e)) < 0)
        return r;
    t = &w->tasks[w->ntasks];
    w->k.rel = rel;
    r = kiln_read_task(&w->k, o, w->project.id, t, e);
    json_object_put(o);
    if (r < 0 || (r = see(w, 't', t->id, rel, e)) < 0)
        return r;
    w->ntasks++;
    if ((r = read_children(w, rel, "runs", "task_run.kiln", read_run, w->ntasks - 1, e)) < 0)
        return r;
    return read_children(w, rel, "dataset_splits", "dataset_split.kiln", read_split, w->ntasks - 1,
                         e);
}

/* Resolves root and path; w->dir gets the project folder, *ret_rel its project file. */
static int locate(struct walk *w, const char *root, const char *path, char real_root[PATH_MAX],
                  const char **ret_rel, struct err *e)
{
    char real[PATH_MAX];
    struct stat st;
    char *slash;

    if (!root)
        return err_set(e, HE_BAD_REQUEST, "project_path",
                       "project_path is refused: importing projects from the server's disk is "
                       "off (start the server with --import-root DIR to allow the folders under "
                       "DIR)");
    if (!realpath(root, real_root))
        return err_set(e, HE_BAD_REQUEST, "project_path", "the import root %s: %s", root,
                       strerror(errno));
    if (!realpath(path, real) || stat(real, &st) < 0)
        return err_set(e, HE_BAD_REQUEST, "project_path", "project_path %s: %s", path,
                       strerror(errno));
    if (!inside(real_root, real))
        return err_set(e, HE_BAD_REQUEST, "project_path",
                       "project_path %s is outside the import root", path);
    w->root = real_root;
    memcpy(w->dir, real, sizeof(real));
    *ret_rel = "project.kiln";
    if (S_ISREG(st.st_mode) && (slash = strrchr(w->dir, '/'))) { /* the project's file */
        if (!(*ret_rel = arena_strdup(&w->mem, slash + 1)))
            return err_set(e, HE_NOMEM, NULL, NULL);
        slash[slash == w->dir] = '\0';
    }
    return 0;
}

static int walk(struct walk *w, const char *project_rel, struct err *e)
{
    struct json_object *o = NULL;
    const char **tasks = NULL;
    size_t ntasks = 0;
    int r;

    if ((r = read_json(w, project_rel, &o, e)) < 0)
        return r;
    w->k.rel = project_rel;
    r = kiln_read_project(&w->k, o, &w->project, e);
    json_object_put(o);
    if (r < 0 || (r = see(w, 'p', w->project.id, project_rel, e)) < 0 ||
        (r = children(w, "tasks", "task.kiln", &tasks, &ntasks, e)) < 0)
        return r;
    for (size_t i = 0; i < ntasks; i++)
        if ((r = read_task(w, tasks[i], e)) < 0)
            return r;
    return check_unique(w, e);
}

/* Stores what the walk read, the runs read again one at a time, with the ids their files left to
 * Kiln's defaults taken from the store beforehand. */
static int store_all(struct store *s, struct walk *w, struct err *e)
{
    char(*pool)[ID_LEN] = calloc(w->run_ids + 1, ID_LEN);
    struct store_import imp = {.project = &w->project,
                               .tasks = w->tasks,
                               .ntasks = w->ntasks,
                               .next_run = next_run,
                               .ud = w,
                               .splits = w->splits,
                               .parts = w->parts,
                               .nparts = w->nparts,
                               .nsplits = w->nsplits};
    int r = 0;

    if (!pool)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; r == 0 && i < w->run_ids; i++)
        r = store_new_id(s, pool[i], e);
    w->ids.pool = (const char(*)[ID_LEN])pool;
    w->ids.npool = w->run_ids;
    w->bytes = 0;
    if (r == 0)
        r = store_import(s, &imp, e);
    free(pool);
    return r;
}

int kiln_import(struct store *s, const char *root, const char *path, const char *user,
                char ret_id[ID_LEN], struct err *e)
{
    struct walk w = {.ids = {.store = s}, .k = {.user = user, .now = clock_wall_us()}};
    char real_root[PATH_MAX];
    const char *project_rel;
    int r;

    w.k.ids = &w.ids;
    w.k.mem = &w.mem;
    if ((r = locate(&w, root, path, real_root, &project_rel, e)) == 0 &&
        (r = walk(&w, project_rel, e)) == 0 && (r = store_all(s, &w, e)) == 0)
        memcpy(ret_id, w.project.id, ID_LEN);
    free(w.tasks);
    free(w.runs);
    free(w.splits);
    free(w.parts);
    free(w.nparts);
    free(w.seen);
    arena_done(&w.scratch);
    arena_done(&w.mem);
    return r;
}
