/* mib/varbind.c - conversions between CUPI values and SNMP varbinds. */
#include "mib/varbind.h"

#include <stdint.h>
#include <string.h>

u_char mib_varbind_type(const cupi_field *f)
{
    return f->type == CUPI_TYPE_STRING ? ASN_OCTET_STR : ASN_INTEGER;
}

bool mib_varbind_fits(const cupi_field *f, const cupi_value *v)
{
    return f->type != CUPI_TYPE_INT || (v->i >= INT32_MIN && v->i <= INT32_MAX);
}

void mib_varbind_encode(const cupi_field *f, const cupi_value *v, netsnmp_variable_list *var)
{
    if (f->type == CUPI_TYPE_STRING) {
        /* A write-only value is never disclosed, not even its length. */
        const char *text = f->write_only ? "" : v->s;
        snmp_set_var_typed_value(var, ASN_OCTET_STR, text, strnlen(text, CUPI_STR_MAX));
        return;
    }
    long num =
        f->type == CUPI_TYPE_BOOL ? (v->i ? MIB_TRUTH_TRUE : MIB_TRUTH_FALSE) : (long)v->i;
    snmp_set_var_typed_value(var, ASN_INTEGER, &num, sizeof num);
}

static int decode_string(const cupi_field *f, const netsnmp_variable_list *var, cupi_value *out)
{
    if (var->type != ASN_OCTET_STR)
        return SNMP_ERR_WRONGTYPE;
    if (var->val_len > f->max_len)
        return SNMP_ERR_WRONGLENGTH;
    /* CUPI's text cannot carry a NUL; cutting the value there would write
     * something the manager did not send. */
    if (memchr(var->val.string, '\0', var->val_len))
        return SNMP_ERR_WRONGVALUE;
    memcpy(out->s, var->val.string, var->val_len);
    out->s[var->val_len] = '\0';
    return SNMP_ERR_NOERROR;
}

static int decode_integer(const cupi_field *f, const netsnmp_variable_list *var,
                          cupi_value *out)
{
    if (var->type != ASN_INTEGER || var->val_len != sizeof(long))
        return SNMP_ERR_WRONGTYPE;
    long v = *var->val.integer;
    if (f->type != CUPI_TYPE_BOOL) {
        out->i = v;
        return SNMP_ERR_NOERROR;
    }
    if (v != MIB_TRUTH_TRUE && v != MIB_TRUTH_FALSE)
        return SNMP_ERR_WRONGVALUE;
    out->i = v == MIB_TRUTH_TRUE;
    return SNMP_ERR_NOERROR;
}

/* The SNMP error of each verdict of the field table's value check. */
static const int error_of[] = {
    [CUPI_VALID] = SNMP_ERR_NOERROR,
    [CUPI_WRONG_TYPE] = SNMP_ERR_WRONGTYPE,
    [CUPI_WRONG_LENGTH] = SNMP_ERR_WRONGLENGTH,
    [CUPI_WRONG_VALUE] = SNMP_ERR_WRONGVALUE,
    [CUPI_NOT_WRITABLE] = SNMP_ERR_WRONGVALUE,
    [CUPI_INCONSISTENT] = SNMP_ERR_WRONGVALUE,
};

int mib_varbind_decode(const cupi_field *f, const netsnmp_variable_list *var, cupi_value *out)
{
    memset(out, 0, sizeof *out);
    int err =
        f->type == CUPI_TYPE_STRING ? decode_string(f, var, out) : decode_integer(f, var, out);
    if (err != SNMP_ERR_NOERROR)
        return err;
    cupi_verdict verdict = cupi_value_check(f, out, NULL, 0);
    return (size_t)verdict < sizeof error_of / sizeof error_of[0] ? error_of[verdict]
                                                                  : SNMP_ERR_WRONGVALUE;
}

void mib_varbind_set_text(netsnmp_variable_list *var, const char *text)
{
    text = text ? text : "";
    snmp_set_var_typed_value(var, ASN_OCTET_STR, text, strnlen(text, CUPI_STR_MAX));
}

void mib_varbind_set_number(netsnmp_variable_list *var, u_char type, uint32_t value)
{
    if (type == ASN_INTEGER) {
        long v = (long)value;
        snmp_set_var_typed_value(var, ASN_INTEGER, &v, sizeof v);
    } else {
        u_long v = value;
        snmp_set_var_typed_value(var, type, &v, sizeof v);
    }
}
