/* Running the mcring command line from a test (cli.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

int cli_run(char **out, const char *servers, const char *input, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)env_path("MCRING_CLI");
    if (servers != NULL) {
        argv[n++] = "--servers";
        argv[n++] = (char *)servers;
    }
    va_list ap;
    va_start(ap, input);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *buf;
    size_t len;
    int rc = run_capture(argv, input, input ? strlen(input) : 0, &buf, &len);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    return rc;
}
