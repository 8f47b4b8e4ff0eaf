/* cupi_value.c - parsing, formatting and checking one field value, driven by
 * the field's descriptor. */
#include <cupi/fields.h>
#include <cupi/text.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verdict_names[] = {
    [CUPI_VALID] = "valid",
    [CUPI_WRONG_TYPE] = "wrongType",
    [CUPI_WRONG_LENGTH] = "wrongLength",
    [CUPI_WRONG_VALUE] = "wrongValue",
    [CUPI_NOT_WRITABLE] = "notWritable",
    [CUPI_INCONSISTENT] = "inconsistentValue",
};

const char *cupi_verdict_name(cupi_verdict v)
{
    if ((size_t)v >= sizeof verdict_names / sizeof verdict_names[0])
        return "unknown";
    return verdict_names[v];
}

static void trim(const char **text, size_t *len)
{
    while (*len && isspace((unsigned char)**text)) {
        (*text)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*text)[*len - 1]))
        (*len)--;
}

static cupi_verdict parse_int(const char *text, size_t len, int64_t *out)
{
    char buf[32];
    trim(&text, &len);
    if (len == 0 || len >= sizeof buf)
        return CUPI_WRONG_TYPE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || !(isdigit((unsigned char)buf[0]) || buf[0] == '-' || buf[0] == '+'))
        return CUPI_WRONG_TYPE;
    *out = v;
    return CUPI_VALID;
}

static cupi_verdict parse_bool(const char *text, size_t len, int64_t *out)
{
    static const struct {
        const char *word;
        int value;
    } words[] = {{"true", 1}, {"false", 0}, {"1", 1}, {"0", 0}};
    trim(&text, &len);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (len == strlen(words[i].word) && strncasecmp(text, words[i].word, len) == 0) {
            *out = words[i].value;
            return CUPI_VALID;
        }
    }
    return CUPI_WRONG_TYPE;
}

cupi_verdict cupi_value_parse(const cupi_field *f, const char *text, size_t len,
                              cupi_value *out)
{
    cupi_value v = {0};
    cupi_verdict verdict;
    switch (f->type) {
    case CUPI_TYPE_INT:
        verdict = parse_int(text, len, &v.i);
        break;
    case CUPI_TYPE_BOOL:
        verdict = parse_bool(text, len, &v.i);
        break;
    case CUPI_TYPE_STRING:
    default:
        if (len > CUPI_STR_MAX)
            return CUPI_WRONG_LENGTH;
        if (memchr(text, '\0', len))
            return CUPI_WRONG_VALUE; /* cannot be carried by a C string, nor by CUPI */
        memcpy(v.s, text, len);
        v.s[len] = '\0';
        verdict = CUPI_VALID;
        break;
    }
    if (verdict == CUPI_VALID)
        *out = v;
    return verdict;
}

const char *cupi_value_format(const cupi_field *f, const cupi_value *v, char *buf, size_t bufsz)
{
    switch (f->type) {
    case CUPI_TYPE_INT:
        snprintf(buf, bufsz, "%" PRId64, v->i);
        break;
    case CUPI_TYPE_BOOL:
        snprintf(buf, bufsz, "%s", v->i ? "true" : "false");
        break;
    case CUPI_TYPE_STRING:
    default:
        snprintf(buf, bufsz, "%s", v->s);
        break;
    }
    return buf;
}

bool cupi_value_equal(const cupi_field *f, const cupi_value *a, const cupi_value *b)
{
    if (f->type == CUPI_TYPE_STRING)
        return strcmp(a->s, b->s) == 0;
    return a->i == b->i;
}

bool cupi_hostname_valid(const char *s)
{
    size_t total = strlen(s);
    if (total == 0 || total > 253)
        return false;
    const char *label = s;
    for (;;) {
        size_t n = strcspn(label, ".");
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)label[i]) && label[i] != '-')
                return false;
        if (label[n] == '\0')
            return true;
        label += n + 1;
    }
}

bool cupi_ip_literal_valid(const char *s)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

#define WHY(...)                                                                               \
    do {                                                                                       \
        if (why)                                                                               \
            snprintf(why, whysz, __VA_ARGS__);                                                 \
    } while (0)

static cupi_verdict check_int(const cupi_field *f, int64_t v, char *why, size_t whysz)
{
    if (f->enums) {
        for (size_t i = 0; i < f->n_enums; i++)
            if (f->enums[i] == v)
                return CUPI_VALID;
        char list[64] = "";
        for (size_t i = 0; i < f->n_enums; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%" PRId64, i ? ", " : "", f->enums[i]);
        }
        WHY("%s: %" PRId64 " is not one of %s", f->name, v, list);
        return CUPI_WRONG_VALUE;
    }
    if (v < f->min || v > f->max) {
        WHY("%s: %" PRId64 " is outside %" PRId64 "..%" PRId64, f->name, v, f->min, f->max);
        return CUPI_WRONG_VALUE;
    }
    return CUPI_VALID;
}

static cupi_verdict check_string(const cupi_field *f, const char *s, char *why, size_t whysz)
{
    size_t len = strlen(s);
    if (len > f->max_len) {
        WHY("%s: %zu bytes, at most %zu allowed", f->name, len, f->max_len);
        return CUPI_WRONG_LENGTH;
    }
    if (len == 0) {
        if (f->allow_empty)
            return CUPI_VALID;
        WHY("%s: must not be empty", f->name);
        return CUPI_WRONG_VALUE;
    }
    /* CUPI carries text in XML and JSON bodies, and SNMP shows it as a
     * DisplayString: it must be UTF-8 and one line of printable text. A
     * password is no exception, it travels in the same bodies. */
    size_t bad;
    cupi_text_fault fault = cupi_text_line_check(s, len, &bad);
    if (fault == CUPI_TEXT_NOT_UTF8) {
        WHY("%s: not valid UTF-8 (byte %zu)", f->name, bad + 1);
        return CUPI_WRONG_VALUE;
    }
    if (fault != CUPI_TEXT_OK) {
        WHY("%s: control character at position %zu", f->name, bad + 1);
        return CUPI_WRONG_VALUE;
    }
    switch (f->syntax) {
    case CUPI_SYNTAX_HOSTNAME:
        if (!cupi_hostname_valid(s)) {
            WHY("%s: not a valid host name (RFC 1123)", f->name);
            return CUPI_WRONG_VALUE;
        }
        break;
    case CUPI_SYNTAX_HOST_OR_IP:
        if (!cupi_hostname_valid(s) && !cupi_ip_literal_valid(s)) {
            WHY("%s: not a valid host name or IP address", f->name);
            return CUPI_WRONG_VALUE;
        }
        break;
    case CUPI_SYNTAX_TEXT:
    default:
        break;
    }
    return CUPI_VALID;
}

cupi_verdict cupi_value_check(const cupi_field *f, const cupi_value *v, char *why, size_t whysz)
{
    if (why && whysz)
        why[0] = '\0';
    switch (f->type) {
    case CUPI_TYPE_INT:
        return check_int(f, v->i, why, whysz);
    case CUPI_TYPE_BOOL:
        if (v->i != 0 && v->i != 1) {
            WHY("%s: not a boolean", f->name);
            return CUPI_WRONG_VALUE;
        }
        return CUPI_VALID;
    case CUPI_TYPE_STRING:
    default:
        return check_string(f, v->s, why, whysz);
    }
}
