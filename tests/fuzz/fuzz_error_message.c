/* fuzz_error_message.c - libFuzzer target: the ErrorDetails parser (XML,
 * JSON or plain text) on arbitrary bytes. The first byte picks the size of
 * the message buffer, so that every truncation point is reached.
 *
 * Asserted: the message fits its buffer, is one line of printable, valid
 * UTF-8 (it ends up in logs and in cupiServerLastError, cut or not), and the
 * return value says whether there is one. A message the simulator would
 * send in an error body comes back out of it unchanged. */
#include <cupi/cupi.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (left < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

static void check_message(const char *msg, size_t msgsz, bool found)
{
    size_t len = strlen(msg);
    if (len >= msgsz || found != (len > 0))
        abort();
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)msg[i];
        if (ch < 0x20 || ch == 0x7f)
            abort(); /* one printable line */
        size_t n = utf8_len((const unsigned char *)msg + i, len - i);
        if (n == 0)
            abort();
        i += n;
    }
    if (len && (msg[0] == ' ' || msg[len - 1] == ' '))
        abort();
}

/* A message the simulator could send: printable ASCII, single spaces. */
static bool plain_message(const char *s, size_t len)
{
    if (len == 0 || len > 200 || s[0] == ' ' || s[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
            (s[i] == ' ' && s[i + 1] == ' '))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t msgsz = 1 + data[0] % 300;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char *msg = malloc(msgsz); /* exact size: ASan sees any overrun */
    if (!msg)
        return 0;
    check_message(msg, msgsz, cupi_error_message(body, len, msg, msgsz));
    free(msg);

    char text[256];
    if (len < sizeof text && plain_message(body, len)) {
        memcpy(text, body, len);
        text[len] = '\0';
        for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++) {
            char *err = cupi_error_body((cupi_format)f, "INVALID_PARAMETER", text);
            char back[256];
            if (!err || !cupi_error_message(err, strlen(err), back, sizeof back) ||
                strcmp(back, text) != 0)
                abort();
            free(err);
        }
    }
    return 0;
}
