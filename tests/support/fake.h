/*
 * A scripted fake memcached for faults a real one cannot produce: garbage,
 * truncated or split replies, error lines, stalls, replies for other keys,
 * connections closed mid-exchange. It listens on a free loopback port and
 * calls the handler with each request line it receives (data blocks of
 * storage commands arrive as lines too).
 */
#ifndef MCRING_TEST_FAKE_H
#define MCRING_TEST_FAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum fake_action {
    FAKE_KEEP,  /* go on reading this connection */
    FAKE_CLOSE, /* close it */
} fake_action;

/* line: one request line without its CRLF. Write the reply to fd. The
 * fences mcring writes after each batch ("mn", lib/pipeline.h) are
 * answered by the fake itself, as memcached 1.6 does ("MN"), and are not
 * passed to the handler nor counted as lines; see fake_set_old_server. */
typedef fake_action (*fake_handler)(int fd, const char *line, size_t len,
                                    void *ud);

typedef struct fake_server fake_server;

fake_server *fake_start(fake_handler h, void *ud);
const char *fake_name(const fake_server *f); /* "127.0.0.1:PORT" */
int fake_port(const fake_server *f);
int fake_accepted(const fake_server *f);     /* connections so far */
int fake_lines(const fake_server *f);        /* request lines so far */
/* old: answer fences with ERROR, as memcached before 1.6 does. */
void fake_set_old_server(fake_server *f, bool old);
/* raw: pass fences ("mn") to the handler like any line (counted), for
 * handlers that hold replies back and must answer fences in order. */
void fake_set_raw_fences(fake_server *f, bool raw);
/* Text written to the first connection as soon as it is accepted (the
 * string must outlive the server); set before that connection. */
void fake_set_greeting(fake_server *f, const char *text);
void fake_stop(fake_server *f);

/* Writes all of s to fd (ignoring errors: the peer may be gone). */
void fake_write(int fd, const char *s, size_t len);
void fake_puts(int fd, const char *s);

#endif
