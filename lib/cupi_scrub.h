/* cupi_scrub.h - keeping credentials out of messages; not installed.
 *
 * Text a CUPI server sent (an ErrorDetails message, a value it returned, a
 * parser's complaint about its body) may echo what the client sent: the
 * Authorization header, the account password, the smart host's password of
 * a PUT. Messages built from it end up in cupiServerLastError, notifications
 * and logs, so they are scrubbed by structure first, then by value:
 *
 *  - "Basic <base64>" whose base64 decodes to "something:something" becomes
 *    "Basic ***"; "JSESSIONID=<value>" becomes "JSESSIONID=***"; the content
 *    of an smtpPassword element or JSON member becomes "***".
 *  - every occurrence of a known secret of at least CUPI_SCRUB_MIN_LEN characters
 *    (the password, base64 of user:password, the session id, the smtpPassword
 *    being PUT) becomes "***".
 *  - a shorter secret is never searched and replaced (a password "p" would
 *    mangle every word holding a p): when it occurs at all, the text a server
 *    sent is withheld as a whole and the caller says so instead.
 *
 * Response and request headers are never copied into a message at all.
 */
#ifndef CUPI_SCRUB_H
#define CUPI_SCRUB_H

#include <stdbool.h>
#include <stddef.h>

#define CUPI_SCRUB_MIN_LEN 4
#define CUPI_SCRUB_MAX 6

/* Borrowed pointers: the secrets must outlive the scrubber's use. */
typedef struct cupi_scrub {
    const char *secret[CUPI_SCRUB_MAX];
    size_t n;
} cupi_scrub;

void cupi_scrub_init(cupi_scrub *s);
/* Adds a secret; NULL, "" and a full set are ignored. */
void cupi_scrub_add(cupi_scrub *s, const char *secret);

/* Masks text (NUL-terminated, textsz bytes of room) in place, by structure
 * and by the long secrets of s (s may be NULL: structure only). Returns
 * false when a short secret of s occurs in the masked text: a caller showing
 * text a server sent must then withhold all of it. */
bool cupi_scrub_text(const cupi_scrub *s, char *text, size_t textsz);

/* base64 of "user:password" as a Basic credential carries it, without the
 * '=' padding (so it also matches the padded form). Returns a malloc'ed
 * string, or NULL when out of memory. */
char *cupi_scrub_basic_credential(const char *user, const char *password);

#endif
