/* Running the mcring command line (MCRING_CLI) from a test. */
#ifndef MCRING_TEST_CLI_H
#define MCRING_TEST_CLI_H

/*
 * Runs `mcring [--servers SERVERS] ARGS...`: servers may be NULL (no
 * --servers), the arguments are strings ending with NULL, and input (may
 * be NULL) goes to its standard input. Returns the exit status (-1 if it
 * could not run); its standard output, NUL-terminated, goes to *out when
 * out is not NULL (free it).
 */
int cli_run(char **out, const char *servers, const char *input, ...);

#endif
