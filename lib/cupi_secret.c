/* cupi_secret.c - clearing passwords before memory is given back, including
 * memory that libcurl, libxml2 and cJSON allocate on their own. */
#include <cupi/secret.h>
#include <cupi/text.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libxml/xmlmemory.h>

#include "cupi_http_internal.h"

void cupi_secret_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void cupi_secret_free(char *s)
{
    if (!s)
        return;
    cupi_secret_wipe(s, strlen(s));
    free(s);
}

long cupi_secret_line(const char *buf, size_t len, size_t max, char *why, size_t whysz)
{
    if (why && whysz)
        why[0] = '\0';
    if (len > 0 && buf[len - 1] == '\n')
        len--; /* the line end, not part of it */
    size_t at;
    cupi_text_fault fault = cupi_text_line_check(buf, len, &at);
    if (fault != CUPI_TEXT_OK) {
        /* The position, not the character: a password's neighbourhood is
         * as secret as the password. */
        if (why && whysz)
            snprintf(why, whysz, "holds %s", cupi_text_fault_name(fault));
        return -1;
    }
    if (len > max) {
        if (why && whysz)
            snprintf(why, whysz, "is longer than %zu bytes", max);
        return -1;
    }
    return (long)len;
}

/* The allocator handed to the libraries: plain malloc, a free that clears
 * the whole block first (its usable size, which covers what was written),
 * and a realloc that never leaves the old contents behind in a block it
 * gives up. */
static void wiping_free(void *p)
{
    if (!p)
        return;
    cupi_secret_wipe(p, malloc_usable_size(p));
    free(p);
}

static void *wiping_realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        wiping_free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    if (n <= old) {
        /* Shrinking in place would hand the tail back unwiped. */
        cupi_secret_wipe((char *)p + n, old - n);
        return p;
    }
    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    wiping_free(p);
    return q;
}

static char *wiping_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

CURLcode cupi_secret_curl_global_init(long flags)
{
    return curl_global_init_mem(flags, malloc, wiping_free, wiping_realloc, wiping_strdup,
                                calloc);
}

void cupi_secret_hook_parsers(void)
{
    /* Every libxml2 and cJSON allocator is malloc underneath, so blocks
     * allocated before the switch may be freed after it. */
    xmlMemSetup(wiping_free, malloc, wiping_realloc, wiping_strdup);
    cJSON_Hooks hooks = {malloc, wiping_free};
    cJSON_InitHooks(&hooks);
}
