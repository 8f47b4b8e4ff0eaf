/* codec_internal.h - what the XML and JSON codecs share; not installed. */
#ifndef CUPI_CODEC_INTERNAL_H
#define CUPI_CODEC_INTERNAL_H

#include <cupi/codec.h>

#include "cupi_error.h"
#include "cupi_scrub.h"

/* Accumulates decoded fields into a snapshot; the codecs call
 * codec_take_field for every element/member they meet. */
typedef struct codec_sink {
    cupi_snapshot snap;
    char *err;
    size_t errsz;
    const cupi_scrub *scrub; /* secrets the server may echo in a value, or NULL */
} codec_sink;

void codec_sink_init(codec_sink *k, cupi_resource r, char *err, size_t errsz,
                     const cupi_scrub *scrub);
/* Unknown names are ignored (CUPI does the same); a known field given twice,
 * or with a value that fails the field's validation (type, range, enum,
 * length, syntax, control characters, UTF-8: what a SET must pass too),
 * fails the whole body with a message naming the field and the value. */
cupi_status codec_take_field(codec_sink *k, const char *name, const char *text, size_t len);
/* Fails the body because of field f's raw value (as the body spells it). */
cupi_status codec_reject_value(codec_sink *k, const cupi_field *f, const char *raw, size_t len,
                               const char *reason);
/* Text taken from a body, made safe for a message: scrubbed with s (may be
 * NULL), one printable line, cut to fit out. A value that may echo a short
 * secret is replaced by a note saying it was withheld. */
void codec_fragment(const cupi_scrub *s, const char *text, size_t len, char *out, size_t outsz);
/* A body with no known field at all is not this resource. */
cupi_status codec_sink_finish(codec_sink *k, cupi_snapshot *out);

/* cupi_decode with the secrets a hostile server may echo (scrub may be NULL). */
cupi_status codec_decode(cupi_resource r, cupi_format f, const char *body, size_t len,
                         cupi_snapshot *out, char *err, size_t errsz, const cupi_scrub *scrub);
/* The whole message of an error body, one line, malloc'ed (caller frees), or
 * NULL when the body has none: scrubbed before it is cut to size. */
char *codec_error_text(const char *body, size_t len);

cupi_status cupi_xml_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                            char *err, size_t errsz, const cupi_scrub *scrub);
cupi_status cupi_xml_encode(const cupi_snapshot *s, char **out, size_t *len);
/* malloc'ed message text of an error body, or NULL. */
char *cupi_xml_error_text(const char *body, size_t len);
char *cupi_xml_error_body(const char *code, const char *message);

cupi_status cupi_json_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                             char *err, size_t errsz, const cupi_scrub *scrub);
cupi_status cupi_json_encode(const cupi_snapshot *s, char **out, size_t *len);
char *cupi_json_error_text(const char *body, size_t len);
char *cupi_json_error_body(const char *code, const char *message);

#endif
