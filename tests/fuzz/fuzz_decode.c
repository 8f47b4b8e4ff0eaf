/* fuzz_decode.c - libFuzzer target: every CUPI body decoder on arbitrary
 * bytes. The first byte picks resource and format; a body that decodes must
 * survive an encode/decode round trip unchanged. */
#include <cupi/cupi.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cupi_resource r = (data[0] & 1) ? CUPI_RES_CLIENT : CUPI_RES_SERVER;
    cupi_format f = (data[0] & 2) ? CUPI_FORMAT_JSON : CUPI_FORMAT_XML;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    cupi_snapshot snap, again;
    char err[256], msg[256];
    cupi_error_message(body, len, msg, sizeof msg);
    if (cupi_decode(r, f, body, len, &snap, err, sizeof err) != CUPI_OK)
        return 0;
    char *out = NULL;
    size_t out_len = 0;
    if (cupi_encode(&snap, f, &out, &out_len) != CUPI_OK)
        abort();
    if (cupi_decode(r, f, out, out_len, &again, err, sizeof err) != CUPI_OK ||
        cupi_snapshot_diff(&snap, &again) != 0)
        abort(); /* what we write, we must read back identically */
    free(out);
    return 0;
}
