/* codec_internal.h - what the XML and JSON codecs share; not installed. */
#ifndef CUPI_CODEC_INTERNAL_H
#define CUPI_CODEC_INTERNAL_H

#include <cupi/codec.h>

/* Accumulates decoded fields into a snapshot; the codecs call
 * codec_take_field for every element/member they meet. */
typedef struct codec_sink {
    cupi_snapshot snap;
    char *err;
    size_t errsz;
} codec_sink;

void codec_sink_init(codec_sink *k, cupi_resource r, char *err, size_t errsz);
/* Unknown names are ignored (CUPI does the same); a known field given twice
 * or with a value of the wrong type fails the whole body. */
cupi_status codec_take_field(codec_sink *k, const char *name, const char *text, size_t len);
/* A body with no known field at all is not this resource. */
cupi_status codec_sink_finish(codec_sink *k, cupi_snapshot *out);
void codec_error(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

cupi_status cupi_xml_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                            char *err, size_t errsz);
cupi_status cupi_xml_encode(const cupi_snapshot *s, char **out, size_t *len);
bool cupi_xml_error_message(const char *body, size_t len, char *msg, size_t msgsz);
char *cupi_xml_error_body(const char *code, const char *message);

cupi_status cupi_json_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                             char *err, size_t errsz);
cupi_status cupi_json_encode(const cupi_snapshot *s, char **out, size_t *len);
bool cupi_json_error_message(const char *body, size_t len, char *msg, size_t msgsz);
char *cupi_json_error_body(const char *code, const char *message);

#endif
