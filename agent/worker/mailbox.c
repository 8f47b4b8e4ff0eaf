/* worker/mailbox.c - a FIFO between threads with an eventfd to wake the
 * receiver. */
#include "worker/mailbox.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int mailbox_init(mailbox *m)
{
    *m = (mailbox){0};
    m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->fd < 0)
        return -1;
    pthread_mutex_init(&m->lock, NULL);
    return 0;
}

void mailbox_destroy(mailbox *m)
{
    if (m->fd < 0)
        return;
    close(m->fd);
    m->fd = -1;
    pthread_mutex_destroy(&m->lock);
}

int mailbox_fd(const mailbox *m)
{
    return m->fd;
}

static void wake(mailbox *m)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is already huge, the receiver is awake anyway. */
    while (write(m->fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

uint64_t mailbox_post(mailbox *m, mailbox_msg *msg)
{
    msg->next = NULL;
    pthread_mutex_lock(&m->lock);
    bool was_empty = !m->head;
    uint64_t seq = msg->seq = ++m->posted;
    if (m->tail)
        m->tail->next = msg;
    else
        m->head = msg;
    m->tail = msg;
    pthread_mutex_unlock(&m->lock);
    if (was_empty)
        wake(m);
    return seq;
}

mailbox_msg *mailbox_take(mailbox *m, size_t max)
{
    uint64_t n;
    while (read(m->fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&m->lock);
    mailbox_msg *first = m->head, *last = NULL;
    size_t taken = 0;
    for (mailbox_msg *p = m->head; p && taken < max; p = p->next, taken++)
        last = p;
    if (last) {
        m->head = last->next;
        if (!m->head)
            m->tail = NULL;
        last->next = NULL;
        m->taken_upto = last->seq;
    } else {
        first = NULL;
    }
    bool more = m->head != NULL;
    pthread_mutex_unlock(&m->lock);
    if (more)
        wake(m);
    return first;
}

void mailbox_locked(mailbox *m, void (*fn)(mailbox *m, void *arg), void *arg)
{
    pthread_mutex_lock(&m->lock);
    fn(m, arg);
    pthread_mutex_unlock(&m->lock);
}
