/*
 * mcring options [--markdown]: every option, its default and what it
 * takes, from the library's own table (mcring_option_docs). --markdown
 * writes the table docs/options.md holds (tests check that it is current).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_print_options(FILE *f)
{
    const mcring_option_doc *d;
    size_t n = mcring_option_docs(&d);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  %-28s %s (default: %s)%s\n", d[i].name, d[i].takes,
                d[i].default_value[0] ? d[i].default_value : "empty",
                d[i].swift ? "" : " [mcring]");
        fprintf(f, "  %-28s %s\n", "", d[i].doc);
    }
}

/* A table cell: pipes escaped. */
static void cell(const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', stdout);
        fputc(*s, stdout);
    }
}

int cmd_options(cli *c)
{
    bool markdown = c->markdown;
    if (c->argc != 0) {
        fputs("usage: mcring options [--markdown]\n", stderr);
        return EXIT_ERR;
    }
    if (!markdown) {
        cli_print_options(stdout);
        return 0;
    }
    const mcring_option_doc *d;
    size_t n = mcring_option_docs(&d);
    puts("| option | takes | default | Swift's | what it does |");
    puts("|---|---|---|---|---|");
    for (size_t i = 0; i < n; i++) {
        printf("| `%s` | ", d[i].name);
        cell(d[i].takes);
        printf(" | `%s` | %s | ", d[i].default_value[0] ? d[i].default_value : "",
               d[i].swift ? "yes" : "");
        cell(d[i].doc);
        puts(" |");
    }
    return 0;
}
