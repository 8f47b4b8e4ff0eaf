/* mib/varbind.h - a CUPI value as an SNMP varbind and back.
 *
 * The one place that knows how a field's value looks on the wire: booleans
 * are TruthValue, integers Integer32, strings DisplayString, and the
 * write-only password reads as a zero-length string whatever is in memory.
 * GET, notifications and SET all convert through here, so what a SET
 * accepts and what a GET returns cannot drift apart. */
#ifndef CUPI_MIB_VARBIND_H
#define CUPI_MIB_VARBIND_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <cupi/cupi.h>

/* TruthValue (SNMPv2-TC). */
#define MIB_TRUTH_TRUE 1
#define MIB_TRUTH_FALSE 2

/* The ASN.1 type a field's column carries. */
u_char mib_varbind_type(const cupi_field *f);

/* True when v can be carried by f's column: an integer must fit an
 * Integer32 (every integer column's syntax). A value that cannot is never
 * served, so a read holding one is judged a bad answer. */
bool mib_varbind_fits(const cupi_field *f, const cupi_value *v);

/* Sets var's type and value to field f's value v as GET returns it. The
 * caller keeps var; net-snmp copies the value into it. */
void mib_varbind_encode(const cupi_field *f, const cupi_value *v, netsnmp_variable_list *var);

/* Converts a SET varbind into a CUPI value for field f. Returns
 * SNMP_ERR_NOERROR when *out holds a valid value, otherwise wrongType (not
 * the column's type), wrongLength (too long) or wrongValue (out of range,
 * not an allowed value, bad syntax, an embedded NUL); *out is then
 * unspecified. Range and syntax come from the field table. */
int mib_varbind_decode(const cupi_field *f, const netsnmp_variable_list *var, cupi_value *out);

/* Model columns (not CUPI fields): a text shortened to what a DisplayString
 * carries, and an unsigned number of the given type (Gauge32, Counter32,
 * TimeTicks) or an INTEGER. */
void mib_varbind_set_text(netsnmp_variable_list *var, const char *text);
void mib_varbind_set_number(netsnmp_variable_list *var, u_char type, uint32_t value);

#endif
