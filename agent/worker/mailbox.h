/* worker/mailbox.h - one direction of messages between two threads: a
 * FIFO under a mutex and an eventfd that is readable while messages wait.
 *
 * The receiving thread watches mailbox_fd() in its own event loop (the SNMP
 * thread through net-snmp's fd registry, the worker through epoll). Senders
 * never block on the receiver: posting takes the mutex for a few pointer
 * moves. Messages are the caller's structs, linked through their first
 * member (mailbox_msg); the mailbox never allocates. */
#ifndef CUPI_WORKER_MAILBOX_H
#define CUPI_WORKER_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mailbox_msg {
    struct mailbox_msg *next;
    uint64_t seq; /* set by mailbox_post: 1, 2, 3 ... */
} mailbox_msg;

typedef struct mailbox {
    pthread_mutex_t lock;
    mailbox_msg *head, *tail;
    uint64_t posted;     /* seq of the newest message posted */
    uint64_t taken_upto; /* seq of the newest message taken */
    int fd;              /* eventfd */
} mailbox;

/* 0, or -1 with errno (no eventfd). */
int mailbox_init(mailbox *m);
/* Messages still queued are the caller's to free first (mailbox_take). */
void mailbox_destroy(mailbox *m);
int mailbox_fd(const mailbox *m);

/* Appends msg and wakes the receiver when the box was empty. Returns the
 * message's seq (msg itself may be taken and freed at once). */
uint64_t mailbox_post(mailbox *m, mailbox_msg *msg);
/* Clears the wake-up, then moves at most max messages, oldest first, into a
 * list the caller owns (returned, NULL-terminated); wakes the receiver again
 * when more are left, so that one turn of its loop handles a bounded batch. */
mailbox_msg *mailbox_take(mailbox *m, size_t max);
/* Runs fn with the queue locked: the receiver can take nothing meanwhile,
 * so a sender may update a message it posted in place while
 * mailbox_still_queued() says it has not been taken. */
void mailbox_locked(mailbox *m, void (*fn)(mailbox *m, void *arg), void *arg);
/* Under mailbox_locked: true while the message posted with seq waits. */
static inline bool mailbox_still_queued(const mailbox *m, uint64_t seq)
{
    return seq > m->taken_upto && seq <= m->posted;
}

#endif
