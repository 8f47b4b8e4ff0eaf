/* sim_raw.c - answers written past libmicrohttpd, for faults it cannot
 * produce: a response header block far larger than its per-connection
 * memory. Runs in the connection's own thread (one thread per connection),
 * inside the request handler, so nothing else writes to the connection;
 * the handler then returns MHD_NO and libmicrohttpd closes it. */
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

/* How long one write may wait for the client to read. */
#define RAW_WRITE_WAIT_MS 10000

static bool wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc;
    do
        rc = poll(&p, 1, RAW_WRITE_WAIT_MS);
    while (rc < 0 && errno == EINTR);
    return rc > 0 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static bool send_all(struct MHD_Connection *c, const char *data, size_t len)
{
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *tls =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!fdi)
        return false;
    int fd = fdi->connect_fd;
    gnutls_session_t session = tls ? (gnutls_session_t)tls->tls_session : NULL;
    while (len > 0) {
        ssize_t n = session ? gnutls_record_send(session, data, len)
                            : send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        bool again = session ? (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                             : (n < 0 && (errno == EAGAIN || errno == EINTR));
        if (!again || !wait_writable(fd))
            return false;
    }
    return true;
}

bool sim_raw_padded_answer(struct MHD_Connection *c, const char *body, size_t body_len,
                           const char *content_type, size_t header_bytes)
{
    /* One header line of header_bytes: the oversized line that a client
     * must refuse without blaming its own memory. */
    static const char pad_name[] = "X-Sim-Padding: ";
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n");
    if (!send_all(c, head, (size_t)n))
        return false;
    char *pad = malloc(64 * 1024);
    if (!pad)
        return false;
    memset(pad, 'p', 64 * 1024);
    bool ok = send_all(c, pad_name, sizeof pad_name - 1);
    for (size_t left = header_bytes; ok && left > 0;) {
        size_t k = left < 64 * 1024 ? left : 64 * 1024;
        ok = send_all(c, pad, k);
        left -= k;
    }
    free(pad);
    n = snprintf(head, sizeof head,
                 "\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                 content_type, body_len);
    return ok && send_all(c, head, (size_t)n) && send_all(c, body, body_len);
}
