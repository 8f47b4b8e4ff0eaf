/* json_number.h - the one way the store reads a whole number from JSON. */
#ifndef CUPI_STORE_JSON_NUMBER_H
#define CUPI_STORE_JSON_NUMBER_H

#include <cjson/cJSON.h>

#include <stdbool.h>

/* A JSON number that is a whole number within [min, max] (JSON numbers are
 * doubles: 1.5, NaN, infinities and anything outside the range fail). *out
 * gets it; untouched on failure. */
bool store_json_whole(const cJSON *item, double min, double max, double *out);

#endif
