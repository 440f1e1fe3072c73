/* SPDX-License-Identifier: MIT */
/*
 * Progress of long work on stderr: on a terminal a bar redrawn in place (at most ten times a
 * second), otherwise a plain line every few seconds, or nothing with --quiet.
 */
#ifndef HETU_CLI_PROGRESS_H
#define HETU_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_TTY_INTERVAL_US  100000LL  /* bar redraws: 10 a second at most */
#define PROGRESS_LINE_INTERVAL_US 3000000LL /* plain lines; HETU_PROGRESS_INTERVAL overrides */

struct progress {
    FILE *out;
    bool tty, quiet;
    const char *label;    /* "import", "upload", ... shown before the bar */
    const char *unit;     /* "" for items, or "B" for bytes (shown scaled) */
    int64_t start_us;     /* monotonic, at init */
    int64_t last_us;      /* when the last bar or line was written, 0 for never */
    int64_t interval_us;  /* between two writes */
    int64_t done, total;  /* latest figures */
    int64_t printed_done; /* done of the last written line, -1 for none */
    double rate;          /* items per second, < 0 when unknown */
    bool drawn;           /* a bar is on the current terminal line */
};

/* out is normally stderr; tty is isatty(fileno(out)). */
void progress_init(struct progress *p, FILE *out, bool quiet, const char *label);

/* New figures; rate < 0 asks for it to be computed from the time since init. Writes when due. */
void progress_update(struct progress *p, int64_t done, int64_t total, double rate);

/* Writes the last figures now (whatever the interval) and ends the bar's line. */
void progress_finish(struct progress *p);

/* Formats the counts part: "1200/10000 (12%) 850/s eta 10s" (no bar); returns out. */
char *progress_format(const struct progress *p, char *out, size_t size);

#endif
