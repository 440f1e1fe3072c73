/* SPDX-License-Identifier: MIT */
/*
 * Process logging: one line per event on stderr, as text or as JSON lines. Library modules do
 * not log; the server and the CLI log once where an error is consumed.
 */
#ifndef HETU_UTIL_LOG_H
#define HETU_UTIL_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_TEXT, LOG_JSON };

void log_setup(enum log_level level, enum log_format format);
int log_level_parse(const char *s, enum log_level *ret);
int log_format_parse(const char *s, enum log_format *ret);
int log_enabled(enum log_level level);

/*
 * Writes one line: the message, then key/value pairs given as alternating const char * (NULL
 * ends the list). In JSON mode the pairs become fields; in text mode "key=value".
 */
void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

/* The request this thread works for now (a request id), added to every line it logs as
 * request_id; NULL clears it. The string must outlive its setting. */
void log_set_request(const char *request_id);
/* The request this thread works for now, or NULL: work handed to another thread keeps a copy
 * (at most LOG_REQUEST_MAX characters) and sets it around the lines it logs for it. */
const char *log_request(void);

#define LOG_REQUEST_MAX 64

#endif
