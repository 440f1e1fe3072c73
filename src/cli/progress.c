/* SPDX-License-Identifier: MIT */
/*
 * Progress output. Runs on the thread that follows the work; keeps no timer of its own: each
 * update decides, from the monotonic clock, whether a write is due. On a terminal the bar is
 * one line redrawn with '\r' and erase-to-end-of-line, sized to the terminal's width; elsewhere
 * (a pipe, a log file) each write is a whole line, so logs stay readable.
 */
#include "cli/progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/clock.h"

#include "util/banned.h"

#define BAR_MIN 10
#define BAR_MAX 50

void progress_init(struct progress *p, FILE *out, bool quiet, const char *label)
{
    const char *iv = getenv("HETU_PROGRESS_INTERVAL");
    char *end;
    double secs;

    memset(p, 0, sizeof(*p));
    p->out = out;
    p->quiet = quiet;
    p->label = label;
    p->unit = "";
    p->tty = isatty(fileno(out)) == 1;
    p->start_us = clock_mono_us();
    p->rate = -1;
    p->printed_done = -1;
    p->interval_us = p->tty ? PROGRESS_TTY_INTERVAL_US : PROGRESS_LINE_INTERVAL_US;
    if (!p->tty && iv && *iv && (secs = strtod(iv, &end)) >= 0 && !*end)
        p->interval_us = (int64_t)(secs * 1e6);
}

static void fmt_count(const struct progress *p, int64_t v, char *out, size_t size)
{
    if (strcmp(p->unit, "B") == 0) {
        if (v >= (1 << 20))
            snprintf(out, size, "%.1f MiB", (double)v / (1 << 20));
        else if (v >= 1024)
            snprintf(out, size, "%.1f KiB", (double)v / 1024);
        else
            snprintf(out, size, "%lld B", (long long)v);
    } else {
        snprintf(out, size, "%lld", (long long)v);
    }
}

static void fmt_duration(double secs, char *out, size_t size)
{
    long s = (long)(secs + 0.5);

    if (s < 60)
        snprintf(out, size, "%lds", s);
    else if (s < 3600)
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(out, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}

static double current_rate(const struct progress *p)
{
    double secs;

    if (p->rate >= 0)
        return p->rate;
    secs = (double)(clock_mono_us() - p->start_us) / 1e6;
    return secs > 0.05 ? (double)p->done / secs : 0;
}

char *progress_format(const struct progress *p, char *out, size_t size)
{
    char done[32], total[32], rate[48] = "", eta[32] = "";
    double r = current_rate(p);
    size_t n;

    fmt_count(p, p->done, done, sizeof(done));
    if (p->total > 0) {
        fmt_count(p, p->total, total, sizeof(total));
        n = (size_t)snprintf(out, size, "%s/%s (%d%%)", done, total,
                             (int)(100.0 * (double)p->done / (double)p->total));
    } else {
        n = (size_t)snprintf(out, size, "%s", done);
    }
    if (r > 0) {
        char v[32];
        if (strcmp(p->unit, "B") == 0)
            fmt_count(p, (int64_t)r, v, sizeof(v));
        else
            snprintf(v, sizeof(v), r >= 100 ? "%.0f" : "%.1f", r);
        snprintf(rate, sizeof(rate), " %s/s", v);
        if (p->total > p->done) {
            char d[24];
            fmt_duration((double)(p->total - p->done) / r, d, sizeof(d));
            snprintf(eta, sizeof(eta), " eta %s", d);
        }
    }
    if (n < size)
        snprintf(out + n, size - n, "%s%s", rate, eta);
    return out;
}

static int term_width(FILE *out)
{
    struct winsize ws;

    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

static void draw(struct progress *p)
{
    char counts[160], bar[BAR_MAX + 1];
    int width, room, fill;

    progress_format(p, counts, sizeof(counts));
    if (!p->tty) {
        fprintf(p->out, "progress: %s\n", counts);
        fflush(p->out);
        p->printed_done = p->done;
        return;
    }
    width = term_width(p->out);
    /* the bar keeps its width while the counts grow (up to 40 columns of them) */
    room = width - (int)strlen(p->label) - (strlen(counts) > 40 ? (int)strlen(counts) : 40) - 5;
    if (room > BAR_MAX)
        room = BAR_MAX;
    if (room >= BAR_MIN) {
        fill = p->total > 0 ? (int)((double)room * (double)p->done / (double)p->total) : 0;
        if (fill > room)
            fill = room;
        for (int i = 0; i < room; i++)
            bar[i] = i < fill ? '#' : (i == fill && p->total > 0 ? '>' : '-');
        bar[room] = '\0';
        fprintf(p->out, "\r%s [%s] %s\x1b[K", p->label, bar, counts);
    } else {
        fprintf(p->out, "\r%s %s\x1b[K", p->label, counts);
    }
    fflush(p->out);
    p->drawn = true;
    p->printed_done = p->done;
}

void progress_update(struct progress *p, int64_t done, int64_t total, double rate)
{
    int64_t now = clock_mono_us();

    p->done = done;
    p->total = total;
    p->rate = rate;
    if (p->quiet)
        return;
    if (p->last_us && now - p->last_us < p->interval_us)
        return;
    p->last_us = now;
    draw(p);
}

void progress_finish(struct progress *p)
{
    if (p->quiet)
        return;
    if (p->tty) {
        draw(p);
        fputc('\n', p->out);
        p->drawn = false;
    } else if (p->printed_done != p->done || p->last_us == 0) {
        draw(p);
    }
    fflush(p->out);
}
