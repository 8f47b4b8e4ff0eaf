/* cupi/fields.h - the one table of CUPI SMTP fields, values and snapshots.
 *
 * Every CUPI field of the two SMTP resources is described once in the
 * descriptor table (cupi_fields.c). Codecs, validation, the diff, cupictl and
 * the MIB handlers all walk that table; nothing here allocates.
 */
#ifndef CUPI_FIELDS_H
#define CUPI_FIELDS_H

#include <cupi/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cupi_resource {
    CUPI_RES_SERVER = 0, /* /vmrest/smtpserver/serverconfigs */
    CUPI_RES_CLIENT = 1, /* /vmrest/smtpclient/clientconfigs */
    CUPI_RES_COUNT
} cupi_resource;

typedef enum cupi_type {
    CUPI_TYPE_INT,
    CUPI_TYPE_BOOL,
    CUPI_TYPE_STRING,
} cupi_type;

/* Extra syntax a string value must follow. */
typedef enum cupi_syntax {
    CUPI_SYNTAX_TEXT,       /* printable text, no control characters */
    CUPI_SYNTAX_HOSTNAME,   /* RFC 1123 host name */
    CUPI_SYNTAX_HOST_OR_IP, /* RFC 1123 host name, IPv4 or IPv6 literal */
} cupi_syntax;

#define CUPI_MAX_COLUMNS 11 /* largest number of fields in one resource */
#define CUPI_STR_MAX 255    /* longest string value, in bytes */
/* A MIB column's bit in a snapshot's present mask and in change masks. */
#define CUPI_COLUMN_BIT(col) ((uint32_t)1u << ((col)-1))

typedef struct cupi_field {
    const char *name;     /* CUPI payload name, e.g. "domainName" */
    const char *alias;    /* other spelling seen in Cisco's docs, or NULL */
    const char *mib_name; /* MIB object descriptor */
    cupi_resource resource;
    unsigned column; /* MIB column; also (index + 1) in a snapshot */
    cupi_type type;
    int64_t min, max;     /* CUPI_TYPE_INT range */
    const int64_t *enums; /* CUPI_TYPE_INT: allowed values, or NULL */
    size_t n_enums;
    size_t max_len;   /* CUPI_TYPE_STRING: longest value in bytes */
    bool allow_empty; /* CUPI_TYPE_STRING: "" is valid */
    cupi_syntax syntax;
    bool write_only;           /* never returned by CUPI (a password) */
    const char *default_value; /* CUPI's documented default, text form */
} cupi_field;

/* One field value. Booleans are stored in i as 0/1. */
typedef struct cupi_value {
    int64_t i;
    char s[CUPI_STR_MAX + 1];
} cupi_value;

/* The values of one resource. Bit (column - 1) of present tells which fields
 * are set; a partial snapshot is how an update (PUT body) is expressed. */
typedef struct cupi_snapshot {
    cupi_resource resource;
    uint32_t present;
    cupi_value v[CUPI_MAX_COLUMNS];
} cupi_snapshot;

CUPI_API const char *cupi_resource_name(cupi_resource r); /* "server" / "client" */
CUPI_API const char *cupi_resource_path(cupi_resource r); /* "/vmrest/..." */
CUPI_API const char *cupi_resource_root(cupi_resource r); /* XML root element */
CUPI_API int cupi_resource_from_name(const char *name);   /* -1 when unknown */

/* All fields of one resource, ordered by column. */
CUPI_API const cupi_field *cupi_fields(cupi_resource r, size_t *n_out);
/* The field at a MIB column, or NULL. */
CUPI_API const cupi_field *cupi_field_at(cupi_resource r, unsigned column);
/* Case-insensitive lookup by payload name or alias; NULL when unknown. */
CUPI_API const cupi_field *cupi_field_find(cupi_resource r, const char *name);
CUPI_API size_t cupi_field_count(cupi_resource r);

/* --- values and snapshots ------------------------------------------------ */

typedef enum cupi_verdict {
    CUPI_VALID = 0,
    CUPI_WRONG_TYPE,   /* not a number / boolean where one is needed */
    CUPI_WRONG_LENGTH, /* string too long */
    CUPI_WRONG_VALUE,  /* out of range, not an enum value, bad syntax */
    CUPI_NOT_WRITABLE, /* unknown field or not writable */
    CUPI_INCONSISTENT, /* a cross-field rule fails */
} cupi_verdict;

CUPI_API const char *cupi_verdict_name(cupi_verdict v);

/* Parses text ("25", "true", a string) into a value of f's type. Checks the
 * type only (WRONG_TYPE / WRONG_LENGTH); call cupi_value_check for the rest.
 * Booleans accept true/false/1/0 case-insensitively. */
CUPI_API cupi_verdict cupi_value_parse(const cupi_field *f, const char *text, size_t len,
                                       cupi_value *out);
/* Canonical CUPI text of a value ("587", "true"). Returns buf. */
CUPI_API const char *cupi_value_format(const cupi_field *f, const cupi_value *v, char *buf,
                                       size_t bufsz);
/* Range, enum, length and syntax check of one value. why (may be NULL) gets a
 * sentence naming the field and the rule. */
CUPI_API cupi_verdict cupi_value_check(const cupi_field *f, const cupi_value *v, char *why,
                                       size_t whysz);
CUPI_API bool cupi_value_equal(const cupi_field *f, const cupi_value *a, const cupi_value *b);

CUPI_API bool cupi_hostname_valid(const char *s);
CUPI_API bool cupi_ip_literal_valid(const char *s);

CUPI_API void cupi_snapshot_init(cupi_snapshot *s, cupi_resource r);
CUPI_API bool cupi_snapshot_has(const cupi_snapshot *s, unsigned column);
/* Sets a column and marks it present. */
CUPI_API void cupi_snapshot_set(cupi_snapshot *s, unsigned column, const cupi_value *v);
/* Copies the present fields of changes over base (same resource). */
CUPI_API void cupi_snapshot_apply(cupi_snapshot *base, const cupi_snapshot *changes);
/* Bitmask (bit column-1) of readable fields that differ between a and b,
 * including a field present in one and not the other. Write-only fields are
 * never compared: CUPI does not return them. */
CUPI_API uint32_t cupi_snapshot_diff(const cupi_snapshot *a, const cupi_snapshot *b);
/* The readable fields asked for in `asked` that `now` does not hold (absent
 * or different), as a column bitmask: what did not stick after a PUT.
 * Write-only fields are never compared (CUPI does not return them). */
CUPI_API uint32_t cupi_snapshot_unstuck(const cupi_snapshot *asked, const cupi_snapshot *now);
/* Checks every present value of s with cupi_value_check; stops at the first
 * failure and stores its column in *column (may be NULL). */
CUPI_API cupi_verdict cupi_snapshot_check(const cupi_snapshot *s, unsigned *column, char *why,
                                          size_t whysz);

/* Cross-field rules (doc/interface.md), judged on merged = the current
 * values with the pending changes applied. Only rules that involve at least
 * one column in changed_mask are judged, so a value CUPI already holds does
 * not block an unrelated change. Returns CUPI_VALID or CUPI_INCONSISTENT with
 * the failing rule's text in why and the offending column in *column. */
CUPI_API cupi_verdict cupi_rules_check(const cupi_snapshot *merged, uint32_t changed_mask,
                                       unsigned *column, char *why, size_t whysz);

/* True when a cross-field rule of resource r involves a column of mask
 * (bit column-1): only then do the current values decide whether a change
 * is consistent. */
CUPI_API bool cupi_rules_involve(cupi_resource r, uint32_t mask);

/* The whole validation of an update, shared by cupictl and the agent: every
 * value of changes (cupi_snapshot_check), then the cross-field rules on
 * current with changes applied. current may be NULL when unknown (rules are
 * then judged on changes alone). *column gets the offending column. */
CUPI_API cupi_verdict cupi_changes_check(const cupi_snapshot *current,
                                         const cupi_snapshot *changes, unsigned *column,
                                         char *why, size_t whysz);

#ifdef __cplusplus
}
#endif
#endif
